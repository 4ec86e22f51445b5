import type { Store } from '../stores/store.js';
import type { Logger } from '../logger.js';
import type { ConsentPageRenderer } from '../consent/render.js';
import type { ProviderConfig } from './provider.js';

export type * from './provider.js';
export type * from './app-config.js';
import type { AppConfig, IncrementalAuthConfig, RefreshConfig } from './app-config.js';

/**
 * Consent settings.
 *
 * @example
 * ```ts
 * createOAuthProxy({ ...options, consent: { enabled: true, rememberFor: 7 * 24 * 3600 } });
 * ```
 */
export interface ConsentConfig {
  /** Show the proxy's consent page before any upstream redirect. Default: `true` when clients can appear without the operator's say-so (open registration or client metadata documents) and `allowedRedirectUris` is not set, else `false`. */
  enabled?: boolean;
  /** Seconds an approval is remembered per browser and client. `0` asks every time. Default: 30 days. */
  rememberFor?: number;
  /** Replace the look of the consent page. Must escape what it prints (use the `escapeHtml` export). */
  render?: ConsentPageRenderer;
  /** What each scope lets the app do, in words for the person approving (`{ 'mcp:write': 'Change your documents' }`). Built in: `openid`, `profile`, `email`, `offline_access` ("Stay signed in"). */
  scopeDescriptions?: Record<string, string>;
}

/**
 * Dynamic client registration (RFC 7591) settings.
 *
 * @example
 * ```ts
 * createOAuthProxy({ ...options, registration: { rateLimit: { windowMs: 60_000, limit: 5 }, unusedTtl: 3600 } });
 * ```
 */
export interface RegistrationConfig {
  /** Accept `POST /register`. Default: `true`. */
  enabled?: boolean;
  /** Registrations per address per window, counted in the store (across instances). Default: 20 per 15 min. `false` turns it off. */
  rateLimit?: RateLimitConfig | false;
  /** Seconds a client that never obtains a token stays registered. Default: 24 h. */
  unusedTtl?: number;
  /** Seconds a client stays registered after its last token. Default: 90 days. */
  ttl?: number;
  /**
   * How the proxy registers ITSELF at the upstream when `clientId` is omitted: with RFC 7591 where
   * the upstream advertises a `registration_endpoint`, or with its own Client ID Metadata Document
   * (served at `<issuer>/upstream-client/<provider id>`) where it advertises `client_id_metadata_document_supported`.
   */
  upstream?: UpstreamRegistrationConfig;
}

/**
 * The proxy's own registration at the upstream (see {@link RegistrationConfig.upstream}).
 *
 * @example
 * ```ts
 * createOAuthProxy({ ...options, clientId: undefined, registration: { upstream: { initialAccessToken: process.env.IDP_IAT } } });
 * ```
 */
export interface UpstreamRegistrationConfig {
  /** RFC 7591 initial access token, for upstreams that require one (Keycloak, Okta with a policy, …). */
  initialAccessToken?: string;
  /** `client_name` to register. Default: `MCP OAuth proxy (<issuer host>)`. */
  clientName?: string;
}

/**
 * A per-address rate limit, counted in the proxy's store (so it holds across
 * instances). `req.ip` is the address: set Express's `trust proxy` to exactly
 * your reverse proxies (see README, "Rate limits").
 *
 * @example
 * ```ts
 * createOAuthProxy({ ...options, authorizeRateLimit: { windowMs: 60_000, limit: 300 } });
 * ```
 */
export interface RateLimitConfig {
  /** Length of the fixed window, in milliseconds. */
  windowMs?: number;
  /** Requests per address per window. */
  limit?: number;
}

/**
 * Client ID Metadata Document settings (MCP 2025-11-25).
 *
 * @example
 * ```ts
 * createOAuthProxy({ ...options, clientMetadataDocuments: { enabled: false } });
 * ```
 */
export interface ClientMetadataDocumentConfig {
  /** Accept https URLs as `client_id`. Default: `true`. */
  enabled?: boolean;
  /** Tests only: allow documents on loopback/private addresses. Never enable in production. Default: `false`. */
  allowPrivateAddresses?: boolean;
}

/**
 * Options every mode shares. See {@link RemoteModeOptions} and {@link LocalModeOptions}.
 *
 * @example
 * ```ts
 * const shared: CommonProxyOptions = { issuer: 'https://mcp.example.com/oauth', secret, encryptionKey, store };
 * ```
 */
export interface CommonProxyOptions {
  /** Public URL where the router is mounted; the authorization server's issuer, byte for byte (no trailing slash). */
  issuer: string;
  /**
   * Remote mode: the scopes requested from the upstream, which are also the proxy's scopes. Default: `['openid']`.
   * Local mode: proxy scopes granted beside the apps' own (e.g. `['mcp:read', 'mcp:write']`); each app's
   * upstream scopes are `apps[].scopes`. Default: none.
   */
  scopes?: string[];
  /** Consent page settings. */
  consent?: ConsentConfig;
  /** Upstream token refresh settings (in local mode, the default of every app's `refresh`). */
  refresh?: RefreshConfig;
  /** HS256 signing secret for the proxy's access tokens, ≥ 32 bytes. An array rotates: the first signs, all verify. Default: random (sessions die with the process). */
  secret?: string | string[];
  /** Vault encryption key, ≥ 32 bytes, separate from `secret`. An array rotates: the first encrypts, all decrypt. Default: random. */
  encryptionKey?: string | string[];
  /** Where all state lives. Default: a new `MemoryStore` (one process only). */
  store?: Store;
  /** The protected MCP resource (RFC 8707/9728) tokens are bound to. Default: `<issuer origin>/mcp`. */
  resource?: string;
  /** The MCP server's name for people: shown on the consent page and served as RFC 9728 `resource_name`. Default: the resource's host. */
  resourceName?: string;
  /** Scopes that imply others, e.g. `{ 'mcp:write': ['mcp:read'] }`: honoured by `requireSession({ scopes })` and in challenges. */
  scopeHierarchy?: Record<string, string[]>;
  /** Seconds an access token lives. Default: 3600. */
  accessTokenTtl?: number;
  /** Seconds a session's refresh token family lives (sliding). Default: 30 days. */
  refreshTokenTtl?: number;
  /** Seconds a rotated refresh token still yields the same successor. Default: 30. */
  refreshTokenGracePeriod?: number;
  /** Seconds a pending authorization lives. Default: 600. */
  authorizationTtl?: number;
  /** Seconds a one-time code lives. Default: 60. */
  codeTtl?: number;
  /** Dynamic client registration settings. */
  registration?: RegistrationConfig;
  /** Only these redirect URIs may be registered: exact strings, or RegExps matched against the whole URI. Default: any URI the policy allows. */
  allowedRedirectUris?: Array<string | RegExp>;
  /** Client ID Metadata Document settings. */
  clientMetadataDocuments?: ClientMetadataDocumentConfig;
  /** Requests to `/authorize` and `/consent` (together) per address per window, counted in the store. Default: 120 per minute. `false` turns it off. */
  authorizeRateLimit?: RateLimitConfig | false;
  /** Origins allowed by CORS on metadata, register and token. Default: `'*'` (these endpoints carry no cookies). */
  corsOrigins?: '*' | string[];
  /** A pino-compatible logger. Default: warnings and errors to `console`. */
  logger?: Logger;
  /** Injected clock in ms since epoch (tests). Default: `Date.now`. */
  clock?: () => number;
  /** Injected fetch used for the upstream IdP and metadata documents (tests). Default: global `fetch`. */
  fetch?: typeof fetch;
  /** Injected source of randomness (tests). Default: `crypto.randomBytes`. */
  randomBytes?: (size: number) => Buffer;
}

/**
 * Remote mode (the default): one mandatory upstream IdP that everyone signs in
 * at. A narrower view of {@link OAuthProxyOptions}, for code that wants the
 * compiler to insist on `provider`.
 *
 * @example
 * ```ts
 * const options: RemoteModeOptions = {
 *   issuer: 'https://mcp.example.com/oauth',
 *   provider: 'https://login.example.com',
 *   clientId: 'mcp-proxy',
 *   clientSecret: process.env.IDP_CLIENT_SECRET,
 * };
 * createOAuthProxy(options);
 * ```
 */
export interface RemoteModeOptions extends OAuthProxyOptions {
  mode?: 'remote';
  provider: string;
  apps?: never;
  incrementalAuth?: never;
}

/**
 * Local mode: several apps, each with its own upstream IdP, authorized one at a
 * time (progressive authorization). The token's `authorized_apps` gates which
 * apps a call may reach; `requireSession({ app })` protects an app's route. A
 * narrower view of {@link OAuthProxyOptions}.
 *
 * @example
 * ```ts
 * const options: LocalModeOptions = {
 *   issuer: 'https://mcp.example.com/oauth',
 *   mode: 'local',
 *   apps: [
 *     { id: 'crm', name: 'CRM', provider: 'https://crm-idp.example.com', clientId: 'mcp', clientSecret: process.env.CRM_SECRET, required: true },
 *     { id: 'erp', name: 'ERP', provider: 'https://erp-idp.example.com', clientId: 'mcp', clientSecret: process.env.ERP_SECRET },
 *   ],
 *   incrementalAuth: { enabled: true },
 * };
 * createOAuthProxy(options);
 * ```
 */
export interface LocalModeOptions extends OAuthProxyOptions {
  mode: 'local';
  apps: AppConfig[];
  provider?: never;
  clientId?: never;
  clientSecret?: never;
  providerConfig?: never;
}

/**
 * Options of {@link createOAuthProxy}. Parsed once, with zod, when the proxy is
 * created. Remote mode (the default) takes one upstream at the top level
 * (`provider`, `clientId`, …); local mode (`mode: 'local'`) takes `apps`, each
 * with its own, and refuses the top-level ones. {@link RemoteModeOptions} and
 * {@link LocalModeOptions} are the two shapes, for stricter typing.
 *
 * @example
 * ```ts
 * createOAuthProxy({
 *   issuer: 'https://mcp.example.com/oauth',
 *   provider: 'https://login.example.com',
 *   clientId: 'mcp-proxy',
 *   clientSecret: process.env.IDP_CLIENT_SECRET,
 *   secret: process.env.OAUTH_PROXY_SECRET,
 *   encryptionKey: process.env.OAUTH_PROXY_VAULT_KEY,
 * });
 * ```
 */
export interface OAuthProxyOptions extends CommonProxyOptions {
  /** `'remote'` (one mandatory upstream IdP, at the top level) or `'local'` (several `apps`). Default: `'remote'`. */
  mode?: 'remote' | 'local';
  /** Remote mode (required there): the upstream IdP base URL (discovered with OIDC discovery, then RFC 8414). */
  provider?: string;
  /**
   * The proxy's own, pre-registered client id at the upstream. Omit it to let the proxy register
   * itself at an upstream that allows it (see `registration.upstream`); without either the proxy
   * starts, but `ready()` reports the upstream unavailable and sign-ins show an error page.
   */
  clientId?: string;
  /** The proxy's client secret at the upstream (omit for a public upstream client). */
  clientSecret?: string;
  /** Endpoint overrides and IdP-specific settings. */
  providerConfig?: ProviderConfig;
  /** Local mode (required there): the apps, each with its upstream IdP. At least one; ids unique. The first required app (else the first linked) gives the session its `sub`. */
  apps?: AppConfig[];
  /** Local mode: progressive authorization. Default: off (every app is signed in at the first authorization). */
  incrementalAuth?: IncrementalAuthConfig;
}
