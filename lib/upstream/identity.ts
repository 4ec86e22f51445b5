import { timingSafeEqual } from 'node:crypto';
import * as oidc from 'openid-client';
import { jwtVerify, type JWTVerifyGetKey } from 'jose';
import type { ProviderConfig, UpstreamIdentity } from '../options.js';
import type { UpstreamTokenSet } from '../vault/vault.js';
import { classify, classifyJose, isNetworkError, UpstreamRefused, UpstreamTransient } from './errors.js';
import { DEFERRED_ID_TOKEN } from './token-response.js';

/** Claims that describe the protocol exchange, not the person: never forwarded as identity claims. */
const PROTOCOL_CLAIMS = new Set([
  'iss',
  'aud',
  'exp',
  'iat',
  'nbf',
  'nonce',
  'at_hash',
  'c_hash',
  's_hash',
  'azp',
  'sid',
  'auth_time',
  'jti',
  'typ',
]);
/** An Entra ID tenant id (`tid`): a GUID. */
const TENANT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const USERINFO_TIMEOUT_MS = 10_000;
const NO_SUB =
  'The upstream identity has no subject ("sub"); for an OAuth 2.0 upstream without one, set providerConfig.profile (e.g. `({ userinfo }) => ({ sub: String(userinfo.id) })`). Nothing was issued';

/** Internal: what the identity step needs from the configured upstream. */
export interface IdentitySource {
  config: oidc.Configuration;
  jwks: JWTVerifyGetKey | undefined;
  /** The issuer when it is a `{tenantid}` template (id_tokens then arrive deferred, see token-response.ts). */
  issuerTemplate: string | undefined;
  clientId: string;
  pc: Pick<ProviderConfig, 'profile' | 'tokenClaims' | 'tenants'>;
  fetch: typeof fetch;
  clock: () => number;
}

/**
 * Internal: the verified identity of a completed code exchange. The id_token (signature by jose,
 * claims by openid-client, or here for templated issuers), else `providerConfig.profile`, else
 * userinfo; then `providerConfig.tokenClaims`. Always has a non-empty string `sub`.
 */
export async function resolveIdentity(
  src: IdentitySource,
  res: oidc.TokenEndpointResponse,
  tokens: UpstreamTokenSet,
  nonce: string | undefined,
): Promise<UpstreamIdentity> {
  const deferred = (res as Record<string, unknown>)[DEFERRED_ID_TOKEN];
  const idToken =
    typeof deferred === 'string' ? await verifyTemplated(src, deferred, nonce) : res.id_token ? await verify(src, res.id_token) : undefined;
  let identity: Record<string, unknown> | undefined;
  if (src.pc.profile) {
    const endpoint = src.config.serverMetadata().userinfo_endpoint;
    const userinfo = endpoint ? await fetchProfile(src.fetch, endpoint, tokens.access_token) : undefined;
    identity = await userCode('profile', () =>
      src.pc.profile!({ tokens, ...(idToken ? { idToken } : {}), ...(userinfo ? { userinfo } : {}), fetch: src.fetch }),
    );
    if (typeof identity?.sub !== 'string' || identity.sub.length === 0) {
      throw new UpstreamRefused(
        'server_error',
        'providerConfig.profile must return an object with a non-empty string "sub" (e.g. `sub: String(user.id)`); nothing was issued',
      );
    }
  } else if (idToken) {
    identity = idToken;
  } else {
    try {
      identity = (await oidc.fetchUserInfo(src.config, tokens.access_token, oidc.skipSubjectCheck)) as Record<string, unknown>;
    } catch (err) {
      // openid-client answers a userinfo object without a string "sub" with OAUTH_INVALID_RESPONSE.
      if (err instanceof oidc.ClientError && err.code === 'OAUTH_INVALID_RESPONSE')
        throw new UpstreamRefused('access_denied', NO_SUB, { cause: err });
      throw classify(err, 'userinfo');
    }
  }
  if (typeof identity.sub !== 'string' || identity.sub.length === 0) {
    throw new UpstreamRefused('access_denied', NO_SUB);
  }
  const sub = identity.sub;
  let claims: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(identity)) if (!PROTOCOL_CLAIMS.has(k)) claims[k] = v;
  if (src.pc.tokenClaims) {
    const input = Object.freeze({ ...claims });
    const mapped = await userCode('tokenClaims', () => src.pc.tokenClaims!(input));
    if (!mapped || typeof mapped !== 'object' || Array.isArray(mapped))
      throw new UpstreamRefused('server_error', 'providerConfig.tokenClaims must return a plain object of claims');
    claims = JSON.parse(JSON.stringify(mapped)) as Record<string, unknown>;
  }
  return { ...claims, sub };
}

async function verify(src: IdentitySource, idToken: string): Promise<Record<string, unknown>> {
  if (!src.jwks)
    throw new UpstreamRefused(
      'server_error',
      'The upstream returned an id_token but has no jwks_uri and no inline providerConfig.jwks to verify it with',
    );
  try {
    const { payload } = await jwtVerify(idToken, src.jwks, {
      issuer: src.config.serverMetadata().issuer,
      audience: src.clientId,
      currentDate: new Date(src.clock()),
    });
    return payload;
  } catch (err) {
    throw classifyJose(err);
  }
}

/**
 * An id_token of an issuer template such as `https://login.microsoftonline.com/{tenantid}/v2.0`:
 * signature, audience and lifetime by jose; then `tid` must be a tenant GUID that
 * `providerConfig.tenants` accepts, `iss` must be the template with exactly that `tid`,
 * and the nonce must be ours (openid-client never saw this token).
 */
async function verifyTemplated(src: IdentitySource, idToken: string, nonce: string | undefined): Promise<Record<string, unknown>> {
  if (!src.jwks)
    throw new UpstreamRefused(
      'server_error',
      'The upstream returned an id_token but has no jwks_uri and no inline providerConfig.jwks to verify it with',
    );
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(idToken, src.jwks, {
      audience: src.clientId,
      currentDate: new Date(src.clock()),
      requiredClaims: ['iss', 'exp', 'iat'],
    }));
  } catch (err) {
    throw classifyJose(err);
  }
  const tid = payload.tid;
  if (typeof tid !== 'string' || !TENANT_ID.test(tid))
    throw new UpstreamRefused('access_denied', 'The upstream id_token has no tenant id ("tid") to check its issuer against');
  if (payload.iss !== src.issuerTemplate!.replace('{tenantid}', tid))
    throw new UpstreamRefused('access_denied', "The upstream id_token's issuer does not match its tenant");
  const t = tid.toLowerCase();
  const { allow, deny } = src.pc.tenants ?? {};
  if ((allow && !allow.some((a) => a.toLowerCase() === t)) || deny?.some((d) => d.toLowerCase() === t)) {
    throw new UpstreamRefused('access_denied', `The upstream tenant ${t} is not allowed by providerConfig.tenants`);
  }
  if (nonce !== undefined && !(typeof payload.nonce === 'string' && same(payload.nonce, nonce)))
    throw new UpstreamRefused('access_denied', "The upstream id_token's nonce does not match");
  return payload;
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** GET a profile/userinfo endpoint with the upstream access token; the answer must be a JSON object. */
async function fetchProfile(fetchImpl: typeof fetch, endpoint: string, accessToken: string): Promise<Record<string, unknown>> {
  let res: Response;
  try {
    res = await fetchImpl(endpoint, {
      headers: { authorization: `Bearer ${accessToken}`, accept: 'application/json', 'user-agent': 'mcp-oauth-proxy' },
      redirect: 'manual',
      signal: AbortSignal.timeout(USERINFO_TIMEOUT_MS),
    });
  } catch (err) {
    throw new UpstreamTransient('The upstream userinfo endpoint could not be reached', { cause: err });
  }
  if (res.status >= 500 || res.status === 429) throw new UpstreamTransient(`The upstream userinfo endpoint answered ${res.status}`);
  if (res.status !== 200) throw new UpstreamRefused('access_denied', `The upstream userinfo endpoint answered ${res.status}`);
  let body: unknown;
  try {
    body = await res.json();
  } catch (err) {
    throw new UpstreamTransient('The upstream userinfo endpoint answered with something that is not JSON', { cause: err });
  }
  if (!body || typeof body !== 'object' || Array.isArray(body))
    throw new UpstreamRefused('access_denied', 'The upstream userinfo endpoint did not answer with a JSON object');
  return body as Record<string, unknown>;
}

/** Runs a `providerConfig` callback: our own upstream errors and network failures keep their meaning, anything else is a configuration error. */
async function userCode<T>(name: string, run: () => T | Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof UpstreamRefused || err instanceof UpstreamTransient) throw err;
    if (isNetworkError(err)) throw new UpstreamTransient(`providerConfig.${name} could not reach the upstream`, { cause: err });
    throw new UpstreamRefused('server_error', `providerConfig.${name} threw (${err instanceof Error ? err.name : typeof err})`, {
      cause: err,
    });
  }
}
