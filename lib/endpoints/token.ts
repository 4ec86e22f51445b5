import { Router } from 'express';
import type { EndpointServices } from './services.js';
import type { RegisteredClient } from '../clients/types.js';
import { presentedCredentials } from '../clients/clients.js';
import {
  InvalidGrantError,
  InvalidRequestError,
  InvalidScopeError,
  InvalidTargetError,
  UnauthorizedClientError,
  UnsupportedGrantTypeError,
} from '../errors.js';
import { pkceChallenge, safeEqual } from '../crypto.js';
import { MAX_EMBEDDED_CLAIMS_BYTES } from '../tokens/access-token.js';
import type { GrantRecord } from '../grants/grants.js';
import { resourceMatches } from './upstream-redirect.js';
import { singleParams } from './params.js';
import { formBody } from './body.js';

/** Internal: the collaborators this endpoint uses. */
export type TokenDeps = Pick<
  EndpointServices,
  'clients' | 'urls' | 'codes' | 'grants' | 'refreshTokens' | 'accessTokens' | 'logger' | 'catalog'
>;

const CODE_VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/;

/** The RFC 6749 §5.1 token response. */
interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  refresh_token: string;
  scope: string;
}

/**
 * Internal: `POST /token`. Client authentication (`none`,
 * `client_secret_post`, `client_secret_basic` with URL-decoded credentials),
 * then the `authorization_code` grant (PKCE S256, then an atomic one-time
 * consume; a replay revokes what the code issued) or the `refresh_token` grant
 * (rotation with a grace window and reuse detection).
 */
export function tokenEndpoint(ctx: TokenDeps): Router {
  const router = Router();
  router.post('/', formBody('8kb'), async (req, res, next) => {
    try {
      const body = singleParams(req.body);
      const client = await ctx.clients.authenticate(presentedCredentials(req.headers.authorization, body));
      if (body.resource !== undefined && !resourceMatches(body.resource, ctx.urls.resource)) {
        throw new InvalidTargetError(`resource must be ${ctx.urls.resource}`);
      }
      let out: TokenResponse;
      if (body.grant_type === 'authorization_code') out = await authorizationCode(ctx, client, body);
      else if (body.grant_type === 'refresh_token') out = await refreshToken(ctx, client, body);
      else if (!body.grant_type) throw new InvalidRequestError('grant_type is required');
      else throw new UnsupportedGrantTypeError('grant_type must be authorization_code or refresh_token');
      res.set({ 'Cache-Control': 'no-store', Pragma: 'no-cache' }).json(out);
    } catch (err) {
      next(err);
    }
  });
  return router;
}

async function authorizationCode(
  ctx: TokenDeps,
  client: RegisteredClient,
  body: Record<string, string | undefined>,
): Promise<TokenResponse> {
  if (!client.grant_types.includes('authorization_code'))
    throw new UnauthorizedClientError('This client may not use the authorization_code grant');
  const { code, code_verifier: verifier, redirect_uri: redirectUri } = body;
  if (!code) throw new InvalidRequestError('code is required');
  if (!verifier) throw new InvalidRequestError('code_verifier is required (PKCE)');
  if (!CODE_VERIFIER.test(verifier)) throw new InvalidGrantError('code_verifier is malformed');
  const record = await ctx.codes.peek(code);
  if (record) {
    if (record.clientId !== client.client_id) throw new InvalidGrantError('The authorization code was not issued to this client');
    if (redirectUri !== undefined && redirectUri !== record.redirectUri)
      throw new InvalidGrantError('redirect_uri does not match the authorization request');
    if (!safeEqual(pkceChallenge(verifier), record.codeChallenge))
      throw new InvalidGrantError('PKCE verification failed: code_verifier does not match code_challenge');
  }
  // Atomic. A replay gets invalid_grant; it ends the session only for the same client with the right verifier, after the retry window.
  const consumed = await ctx.codes.consume(code, { clientId: client.client_id, challenge: pkceChallenge(verifier) });
  const activated = await ctx.grants.activate(consumed.sid);
  if (!activated) throw new InvalidGrantError('The sign-in behind this code has expired; sign in again');
  const { grant, linked } = activated;
  await ctx.clients.markUsed(client);
  return issue(
    ctx,
    grant,
    linked,
    client.client_id,
    consumed.scope,
    await ctx.refreshTokens.issue({ sid: grant.sid, clientId: client.client_id, scope: consumed.scope }),
  );
}

async function refreshToken(ctx: TokenDeps, client: RegisteredClient, body: Record<string, string | undefined>): Promise<TokenResponse> {
  if (!client.grant_types.includes('authorization_code') && !client.grant_types.includes('refresh_token')) {
    throw new UnauthorizedClientError('This client may not use the refresh_token grant');
  }
  if (!body.refresh_token) throw new InvalidRequestError('refresh_token is required');
  const { token, record } = await ctx.refreshTokens.rotate(body.refresh_token, client.client_id);
  // Local mode: the grant's scope is its extras plus every app linked now (apps linked through `?app=` links included).
  const linked = ctx.catalog.local ? await ctx.grants.linkedApps(record.sid) : [];
  const granted = ctx.catalog.local ? widenedScope(ctx, linked, record.scope) : record.scope;
  let scope = granted;
  if (body.scope !== undefined) {
    const have = new Set(granted.split(' '));
    const asked = body.scope.split(' ').filter(Boolean);
    if (!asked.length || asked.some((s) => !have.has(s)))
      throw new InvalidScopeError('scope must be a subset of the originally granted scope');
    scope = asked.join(' ');
  }
  const grant = await ctx.grants.get(record.sid);
  if (!grant) throw new InvalidGrantError('The session has ended; sign in again');
  await ctx.clients.markUsed(client);
  return issue(ctx, grant, linked, client.client_id, scope, token);
}

/** Local mode: a grant's scope with the app scopes recomputed from the vault (apps linked since, in; apps whose link ended, out). */
function widenedScope(ctx: TokenDeps, linked: readonly string[], scope: string): string {
  const { extras, offline } = ctx.catalog.nonAppScopes(scope);
  return ctx.catalog.scopeFor(linked, extras, offline);
}

/** `linked`: the providers with tokens in the grant's vault (read once by the caller; only local mode uses it). */
async function issue(
  ctx: TokenDeps,
  grant: GrantRecord,
  linked: readonly string[],
  clientId: string,
  asked: string,
  refresh: string,
): Promise<TokenResponse> {
  let scope = asked;
  let authorizedApps: string[] | undefined;
  if (ctx.catalog.local) {
    // authorized_apps comes from the server side only: the apps with tokens in the vault that the scope names.
    const identity = grant.providers[0];
    authorizedApps = ctx.catalog.authorized(asked, linked).sort((a, b) => Number(b === identity) - Number(a === identity));
    const { extras, offline } = ctx.catalog.nonAppScopes(asked);
    scope = ctx.catalog.scopeFor(authorizedApps, extras, offline);
  }
  const claimsBytes = Buffer.byteLength(JSON.stringify(grant.claims));
  const tooBig = claimsBytes > MAX_EMBEDDED_CLAIMS_BYTES;
  if (tooBig) {
    ctx.logger.warn(
      { sid: grant.sid, bytes: claimsBytes },
      `upstream claims exceed ${MAX_EMBEDDED_CLAIMS_BYTES} bytes; only "sub" is forwarded in the access token`,
    );
  }
  const upstreamClaims = tooBig ? { sub: grant.sub } : grant.claims;
  const at = await ctx.accessTokens.mint({
    sub: grant.sub,
    sid: grant.sid,
    clientId,
    scope,
    upstreamClaims,
    ...(authorizedApps ? { authorizedApps } : {}),
  });
  return { access_token: at.token, token_type: 'Bearer', expires_in: at.expiresIn, refresh_token: refresh, scope };
}
