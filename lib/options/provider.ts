import type { UpstreamTokenSet } from '../vault/vault.js';
import type { TokenEndpointAuthMethod } from '../clients/types.js';

/**
 * What {@link ProviderConfig.profile} is given: the upstream's tokens, the verified
 * id_token claims (when there was one) and the userinfo / profile API answer
 * (when a userinfo endpoint is known), plus the proxy's `fetch` for further calls.
 *
 * @example
 * ```ts
 * const profile = async ({ userinfo }: UpstreamProfileInput) => ({ sub: String(userinfo!.id), login: userinfo!.login });
 * ```
 */
export interface UpstreamProfileInput {
  tokens: Readonly<UpstreamTokenSet>;
  /** Verified id_token claims; absent for OAuth 2.0 upstreams without OIDC. */
  idToken?: Readonly<Record<string, unknown>>;
  /** The JSON object the userinfo endpoint (`providerConfig.userInfoEndpoint`, or discovery's) answered with the upstream access token. */
  userinfo?: Readonly<Record<string, unknown>>;
  /** The fetch the proxy uses for the upstream (the `fetch` option, else the global one). */
  fetch: typeof fetch;
}

/**
 * The identity {@link ProviderConfig.profile} returns: a non-empty string `sub`, unique and
 * stable at this upstream, plus any claims to keep for the session.
 *
 * @example
 * ```ts
 * const identity: UpstreamIdentity = { sub: String(user.id), email: user.email };
 * ```
 */
export interface UpstreamIdentity {
  sub: string;
  [claim: string]: unknown;
}

/**
 * What a custom {@link ProviderConfig.revoke} is given when a session ends.
 *
 * @example
 * ```ts
 * const revoke = async ({ tokens, clientId, fetch }: UpstreamRevocationInput) => { await fetch(`https://idp.example.com/revoke/${clientId}`, { method: 'POST', body: tokens.access_token }); };
 * ```
 */
export interface UpstreamRevocationInput {
  /** The session's upstream tokens. */
  tokens: Readonly<UpstreamTokenSet>;
  clientId: string;
  clientSecret?: string;
  fetch: typeof fetch;
  /** The proxy's clock, in seconds since epoch (compare with `tokens.expires_at`). */
  now: number;
}

/**
 * Endpoint overrides and IdP-specific settings for the upstream provider.
 *
 * @example
 * ```ts
 * createOAuthProxy({ ...options, providerConfig: { id: 'upstream', jwksUri: 'https://login.example.com/keys', authorizeParams: { access_type: 'offline' } } });
 * ```
 */
export interface ProviderConfig {
  /** The provider id tools pass to `getToken()`. Default: derived from the provider's host (`idp.example.com` → `idp-example-com`). */
  id?: string;
  /** Authorization endpoint; overrides discovery. */
  authEndpoint?: string;
  /** Token endpoint; overrides discovery. */
  tokenEndpoint?: string;
  /** UserInfo endpoint; overrides discovery. */
  userInfoEndpoint?: string;
  /** JWKS URI used to verify id_tokens; overrides discovery. */
  jwksUri?: string;
  /** Inline JWKS for IdPs without a JWKS endpoint. Takes precedence over `jwksUri`. */
  jwks?: { keys: Array<Record<string, unknown>> };
  /** RFC 7009 revocation endpoint; overrides discovery. Used when a session ends. */
  revocationEndpoint?: string;
  /** The upstream's issuer identifier, for IdPs without discovery. Default: `provider`. */
  issuer?: string;
  /**
   * Extra parameters added to the upstream authorization request, e.g.
   * `{ access_type: 'offline', prompt: 'consent' }` for Google, which otherwise issues no refresh token.
   */
  authorizeParams?: Record<string, string>;
  /** How the proxy authenticates at the upstream token endpoint. Default: `client_secret_basic` with a secret, `none` without. */
  tokenEndpointAuthMethod?: TokenEndpointAuthMethod;
  /** Skip OIDC/RFC 8414 discovery entirely (all endpoints must then be given). Default: `false`. */
  skipDiscovery?: boolean;
  /**
   * The discovery document's full URL, when it is not at `provider`'s well-known path or its issuer
   * differs from `provider` (Entra ID's `/organizations/v2.0`). The document's `issuer` must then equal
   * `providerConfig.issuer` (default `provider`). An issuer containing `{tenantid}` is a template:
   * each id_token's `iss` must be the template with the token's own `tid` (a tenant GUID) filled in.
   */
  discoveryUrl?: string;
  /** Which tenants (`tid` GUIDs) a `{tenantid}` issuer template accepts. Default: every tenant. */
  tenants?: { allow?: string[]; deny?: string[] };
  /**
   * The identity, for upstreams whose id_token/userinfo has no `sub` (OAuth 2.0 IdPs such as GitHub).
   * Default: the id_token's claims, else the userinfo answer, which must have a string `sub`.
   */
  profile?: (input: UpstreamProfileInput) => UpstreamIdentity | Promise<UpstreamIdentity>;
  /**
   * Maps the upstream identity's claims to what reaches `req.auth.extra.claims` (and the access token).
   * `sub` always stays the identity's subject. Default: every identity claim except protocol ones (`iss`, `aud`, `nonce`, …).
   */
  tokenClaims?: (claims: Readonly<Record<string, unknown>>) => Record<string, unknown> | Promise<Record<string, unknown>>;
  /** Revokes at an upstream without RFC 7009 (GitHub's grant deletion). Replaces the revocation endpoint; errors are logged, never thrown. */
  revoke?: (input: UpstreamRevocationInput) => Promise<void>;
}
