import * as oidc from 'openid-client';
import { createLocalJWKSet, createRemoteJWKSet, jwtVerify, customFetch as joseCustomFetch, type JWTVerifyGetKey } from 'jose';
import type { ParsedOptions } from '../options.js';
import type { ResolvedLogger } from '../logger.js';
import { describeError } from '../logger.js';
import type { UpstreamTokenSet } from '../vault/vault.js';

/** Claims that describe the protocol exchange, not the person: never forwarded as identity claims. */
const PROTOCOL_CLAIMS = new Set(['iss', 'aud', 'exp', 'iat', 'nbf', 'nonce', 'at_hash', 'c_hash', 's_hash', 'azp', 'sid', 'auth_time', 'jti', 'typ']);
const UPSTREAM_TIMEOUT_SECONDS = 10;

/** Internal: the upstream answered `invalid_grant` (the grant is gone for good). */
export class UpstreamGrantInvalid extends Error {
  constructor(message: string) { super(message); this.name = 'UpstreamGrantInvalid'; }
}
/** Internal: the upstream refused the sign-in (`error=` on the callback, or a non-retryable token error). */
export class UpstreamRefused extends Error {
  readonly error: string;
  constructor(error: string, message: string) { super(message); this.name = 'UpstreamRefused'; this.error = error; }
}
/** Internal: the upstream could not be reached or answered 5xx; retry later. */
export class UpstreamTransient extends Error {
  constructor(message: string, options?: { cause?: unknown }) { super(message, options); this.name = 'UpstreamTransient'; }
}

/** Derives a provider id from the provider URL's host: `idp.example.com:8443` → `idp-example-com-8443`. */
export function deriveProviderId(provider: string): string {
  return new URL(provider).host.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
}

/** Result of a completed upstream sign-in. */
export interface UpstreamSignIn {
  tokens: UpstreamTokenSet;
  /** Verified identity claims (id_token, else userinfo); always has a string `sub`. */
  claims: Record<string, unknown> & { sub: string };
}

/**
 * Internal: one upstream IdP, through openid-client. Discovery (OIDC, then
 * RFC 8414) runs lazily on first use and is retried after a failure; every
 * `providerConfig` endpoint override and inline `jwks` is applied on top.
 * id_token signatures are verified with jose against the inline JWKS or the
 * `jwks_uri` — openid-client alone would only check the claims.
 */
export class UpstreamProvider {
  readonly id: string;
  readonly #o: ParsedOptions;
  readonly #fetch: typeof fetch;
  readonly #logger: ResolvedLogger;
  readonly #clock: () => number;
  #config: Promise<{ config: oidc.Configuration; jwks: JWTVerifyGetKey | undefined }> | undefined;

  constructor(options: ParsedOptions, deps: { fetch: typeof fetch; logger: ResolvedLogger; clock: () => number }) {
    this.#o = options;
    this.id = options.providerConfig.id ?? deriveProviderId(options.provider);
    this.#fetch = deps.fetch;
    this.#logger = deps.logger;
    this.#clock = deps.clock;
  }

  /** A display name for consent pages: the provider's host. */
  get displayName(): string { return new URL(this.#o.provider).host; }

  /** Whether the upstream has a revocation endpoint (after discovery). */
  async canRevoke(): Promise<boolean> {
    const { config } = await this.#configuration();
    return typeof config.serverMetadata().revocation_endpoint === 'string';
  }

  async authorizationUrl(p: { redirectUri: string; state: string; nonce: string; codeChallenge: string }): Promise<URL> {
    const { config } = await this.#configuration();
    const params: Record<string, string> = {
      ...this.#o.providerConfig.authorizeParams,
      response_type: 'code',
      redirect_uri: p.redirectUri,
      scope: this.#o.scopes.join(' '),
      state: p.state,
      code_challenge: p.codeChallenge,
      code_challenge_method: 'S256',
    };
    if (this.#o.scopes.includes('openid')) params.nonce = p.nonce;
    return oidc.buildAuthorizationUrl(config, params);
  }

  /** Completes the sign-in: validates the callback, exchanges the code, verifies the identity. */
  async exchange(callbackUrl: URL, checks: { state: string; nonce: string; codeVerifier: string }): Promise<UpstreamSignIn> {
    const { config, jwks } = await this.#configuration();
    const openid = this.#o.scopes.includes('openid');
    let res: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
    try {
      res = await oidc.authorizationCodeGrant(config, callbackUrl, {
        pkceCodeVerifier: checks.codeVerifier,
        expectedState: checks.state,
        ...(openid ? { expectedNonce: checks.nonce } : {}),
        idTokenExpected: false,
      });
    } catch (err) {
      throw classify(err, 'code exchange');
    }
    const tokens = toTokenSet(res, this.#clock);
    let claims: Record<string, unknown> | undefined;
    if (res.id_token) {
      if (!jwks) throw new UpstreamRefused('server_error', 'The upstream returned an id_token but has no jwks_uri and no inline providerConfig.jwks to verify it with');
      try {
        const { payload } = await jwtVerify(res.id_token, jwks, { issuer: config.serverMetadata().issuer, audience: this.#o.clientId, currentDate: new Date(this.#clock()) });
        claims = payload;
      } catch (err) {
        if (err instanceof Error && /fetch|network|timeout/i.test(err.message)) throw new UpstreamTransient('Could not fetch the upstream JWKS', { cause: err });
        throw new UpstreamRefused('access_denied', `The upstream id_token failed verification (${err instanceof Error ? err.name : 'error'})`);
      }
    } else {
      try {
        claims = await oidc.fetchUserInfo(config, tokens.access_token, oidc.skipSubjectCheck) as Record<string, unknown>;
      } catch (err) {
        throw classify(err, 'userinfo');
      }
    }
    if (typeof claims.sub !== 'string' || claims.sub.length === 0) {
      throw new UpstreamRefused('access_denied', 'The upstream identity has no subject ("sub"); nothing was issued');
    }
    return { tokens, claims: identityClaims(claims) as UpstreamSignIn['claims'] };
  }

  /** Refreshes upstream tokens. Throws {@link UpstreamGrantInvalid} or {@link UpstreamTransient}. */
  async refresh(refreshToken: string): Promise<UpstreamTokenSet> {
    const { config } = await this.#configuration();
    try {
      const res = await oidc.refreshTokenGrant(config, refreshToken);
      return toTokenSet(res, this.#clock);
    } catch (err) {
      const c = classify(err, 'refresh');
      // Only invalid_grant means the grant is gone. Anything else (invalid_client, 429, …) keeps the tokens.
      if (c instanceof UpstreamRefused && c.error === 'invalid_grant') throw new UpstreamGrantInvalid(c.message);
      throw c instanceof UpstreamRefused ? new UpstreamTransient(c.message, { cause: err }) : c;
    }
  }

  /** Best-effort RFC 7009 revocation at the upstream; failures are logged, never thrown. */
  async revoke(token: string, hint: 'refresh_token' | 'access_token'): Promise<void> {
    try {
      const { config } = await this.#configuration();
      if (!config.serverMetadata().revocation_endpoint) return;
      await oidc.tokenRevocation(config, token, { token_type_hint: hint });
    } catch (err) {
      this.#logger.warn({ provider: this.id, err: describeError(err) }, 'upstream token revocation failed');
    }
  }

  /** Runs discovery now (e.g. from `oauth.ready()`). */
  async discover(): Promise<void> {
    await this.#configuration();
  }

  #configuration() {
    this.#config ??= this.#build().catch((err: unknown) => {
      this.#config = undefined; // retry on next use
      throw err instanceof UpstreamRefused ? err : new UpstreamTransient('Upstream discovery failed', { cause: err });
    });
    return this.#config;
  }

  async #build(): Promise<{ config: oidc.Configuration; jwks: JWTVerifyGetKey | undefined }> {
    const o = this.#o;
    const pc = o.providerConfig;
    const server = new URL(o.provider);
    const insecure = server.protocol === 'http:';
    const clientAuth = clientAuthentication(pc.tokenEndpointAuthMethod, o.clientSecret);
    const metadata = o.clientSecret ? { client_secret: o.clientSecret } : {};
    const fetchImpl: oidc.CustomFetch = (url, init) => this.#fetch(url, init as RequestInit);
    let discovered: oidc.ServerMetadata | undefined;
    if (!pc.skipDiscovery) {
      for (const algorithm of ['oidc', 'oauth2'] as const) {
        try {
          const c = await oidc.discovery(server, o.clientId, metadata, clientAuth, {
            algorithm, timeout: UPSTREAM_TIMEOUT_SECONDS, [oidc.customFetch]: fetchImpl, ...(insecure ? { execute: [oidc.allowInsecureRequests] } : {}),
          });
          discovered = c.serverMetadata();
          break;
        } catch (err) {
          this.#logger.debug({ provider: this.id, algorithm, err: describeError(err) }, 'upstream discovery attempt failed');
        }
      }
      const overridden = pc.authEndpoint && pc.tokenEndpoint;
      if (!discovered && !overridden) throw new UpstreamTransient(`Upstream discovery failed at ${o.provider} (tried OIDC discovery and RFC 8414); set providerConfig.authEndpoint and tokenEndpoint to run without it`);
    }
    const server_: oidc.ServerMetadata = {
      ...discovered,
      issuer: pc.issuer ?? discovered?.issuer ?? o.provider,
      ...(pc.authEndpoint ? { authorization_endpoint: pc.authEndpoint } : {}),
      ...(pc.tokenEndpoint ? { token_endpoint: pc.tokenEndpoint } : {}),
      ...(pc.userInfoEndpoint ? { userinfo_endpoint: pc.userInfoEndpoint } : {}),
      ...(pc.jwksUri ? { jwks_uri: pc.jwksUri } : {}),
      ...(pc.revocationEndpoint ? { revocation_endpoint: pc.revocationEndpoint } : {}),
    };
    if (!server_.authorization_endpoint || !server_.token_endpoint) {
      throw new UpstreamRefused('server_error', 'The upstream has no authorization_endpoint or token_endpoint; set providerConfig.authEndpoint and providerConfig.tokenEndpoint');
    }
    const config = new oidc.Configuration(server_, o.clientId, metadata, clientAuth);
    config[oidc.customFetch] = fetchImpl;
    config.timeout = UPSTREAM_TIMEOUT_SECONDS;
    if (insecure) oidc.allowInsecureRequests(config);
    let jwks: JWTVerifyGetKey | undefined;
    if (pc.jwks) jwks = createLocalJWKSet(pc.jwks as Parameters<typeof createLocalJWKSet>[0]);
    else if (server_.jwks_uri) jwks = createRemoteJWKSet(new URL(server_.jwks_uri), { [joseCustomFetch]: this.#fetch, timeoutDuration: UPSTREAM_TIMEOUT_SECONDS * 1000 });
    return { config, jwks };
  }
}

function clientAuthentication(method: ParsedOptions['providerConfig']['tokenEndpointAuthMethod'], secret: string | undefined): oidc.ClientAuth {
  if (!secret || method === 'none') return oidc.None();
  return method === 'client_secret_post' ? oidc.ClientSecretPost(secret) : oidc.ClientSecretBasic(secret);
}

function toTokenSet(res: oidc.TokenEndpointResponse, clock: () => number): UpstreamTokenSet {
  const now = Math.floor(clock() / 1000);
  const out: UpstreamTokenSet = { access_token: res.access_token, token_type: res.token_type };
  if (typeof res.expires_in === 'number') out.expires_at = now + res.expires_in;
  if (typeof res.refresh_token === 'string') out.refresh_token = res.refresh_token;
  const rex = (res as Record<string, unknown>).refresh_expires_in;
  if (typeof rex === 'number' && rex > 0) out.refresh_expires_at = now + rex;
  if (typeof res.scope === 'string') out.scope = res.scope;
  return out;
}

function identityClaims(claims: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(claims)) if (!PROTOCOL_CLAIMS.has(k)) out[k] = v;
  return out;
}

/** Sorts openid-client failures into "the upstream said no" and "try again later". */
function classify(err: unknown, step: string): Error {
  if (err instanceof oidc.AuthorizationResponseError) return new UpstreamRefused(err.error, `The upstream returned error "${err.error}" at ${step}`);
  if (err instanceof oidc.ResponseBodyError) {
    if (err.status >= 500 || err.status === 429) return new UpstreamTransient(`The upstream answered ${err.status} at ${step}`, { cause: err });
    return new UpstreamRefused(err.error, `The upstream returned error "${err.error}" at ${step}`);
  }
  const e = err as { code?: string; cause?: unknown; name?: string; message?: string };
  // Response-status, network and timeout failures: transient. Validation failures (state, iss, nonce, id_token claims): refusals.
  if (e?.code === 'OAUTH_RESPONSE_IS_NOT_CONFORM' || e?.code === 'OAUTH_RESPONSE_IS_NOT_JSON' || e?.name === 'TypeError' || e?.name === 'AbortError' || e?.name === 'TimeoutError' || /fetch failed|ECONNREFUSED|timed? ?out/i.test(e?.message ?? '')) {
    return new UpstreamTransient(`The upstream could not be reached or answered unexpectedly at ${step}`, { cause: err });
  }
  return new UpstreamRefused('access_denied', `The upstream response failed validation at ${step}: ${e?.message ?? 'unknown error'}`);
}
