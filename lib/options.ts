import { z } from 'zod';
import type { Store } from './stores/store.js';
import type { Logger } from './logger.js';
import type { ConsentPageRenderer } from './consent/render.js';
import type { UpstreamTokenSet } from './vault/vault.js';
import { TOKEN_ENDPOINT_AUTH_METHODS, type TokenEndpointAuthMethod } from './clients/types.js';

/**
 * Default lifetime of the proxy's access tokens: 1 hour.
 *
 * @example
 * ```ts
 * createOAuthProxy({ ...options, accessTokenTtl: DEFAULT_ACCESS_TOKEN_TTL / 4 });
 * ```
 */
export const DEFAULT_ACCESS_TOKEN_TTL = 3600;
/**
 * Default lifetime of a refresh-token family (the session): 30 days.
 *
 * @example
 * ```ts
 * createOAuthProxy({ ...options, refreshTokenTtl: DEFAULT_REFRESH_TOKEN_TTL / 2 });
 * ```
 */
export const DEFAULT_REFRESH_TOKEN_TTL = 30 * 24 * 3600;
/**
 * Default grace window in which a just-rotated refresh token still returns the same successor: 30 s.
 *
 * @example
 * ```ts
 * createOAuthProxy({ ...options, refreshTokenGracePeriod: DEFAULT_REFRESH_TOKEN_GRACE_PERIOD * 2 });
 * ```
 */
export const DEFAULT_REFRESH_TOKEN_GRACE_PERIOD = 30;
/**
 * Default lifetime of a pending authorization (authorize → callback): 10 minutes.
 *
 * @example
 * ```ts
 * createOAuthProxy({ ...options, authorizationTtl: DEFAULT_AUTHORIZATION_TTL / 2 });
 * ```
 */
export const DEFAULT_AUTHORIZATION_TTL = 600;
/**
 * Default lifetime of a one-time authorization code: 60 s.
 *
 * @example
 * ```ts
 * createOAuthProxy({ ...options, codeTtl: DEFAULT_CODE_TTL / 2 });
 * ```
 */
export const DEFAULT_CODE_TTL = 60;
/**
 * Default time a dynamically registered client that is never used stays registered: 24 hours.
 *
 * @example
 * ```ts
 * createOAuthProxy({ ...options, registration: { unusedTtl: DEFAULT_UNUSED_CLIENT_TTL * 7 } });
 * ```
 */
export const DEFAULT_UNUSED_CLIENT_TTL = 24 * 3600;
/**
 * Default time a used client stays registered after its last token: 90 days.
 *
 * @example
 * ```ts
 * createOAuthProxy({ ...options, registration: { ttl: DEFAULT_CLIENT_TTL * 2 } });
 * ```
 */
export const DEFAULT_CLIENT_TTL = 90 * 24 * 3600;
/**
 * Default time a consent approval is remembered per browser and client: 30 days.
 *
 * @example
 * ```ts
 * createOAuthProxy({ ...options, consent: { rememberFor: DEFAULT_CONSENT_REMEMBER / 30 } });
 * ```
 */
export const DEFAULT_CONSENT_REMEMBER = 30 * 24 * 3600;
/**
 * Default upstream refresh skew: refresh when the upstream token expires within 60 s.
 *
 * @example
 * ```ts
 * createOAuthProxy({ ...options, refresh: { skewSeconds: DEFAULT_REFRESH_SKEW * 2 } });
 * ```
 */
export const DEFAULT_REFRESH_SKEW = 60;
/**
 * Minimum length, in bytes, of `secret` and `encryptionKey`.
 *
 * @example
 * ```ts
 * if (Buffer.byteLength(secret) < MIN_SECRET_BYTES) throw new Error('secret too short');
 * ```
 */
export const MIN_SECRET_BYTES = 32;

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
 * Upstream refresh settings.
 *
 * @example
 * ```ts
 * createOAuthProxy({ ...options, refresh: { enabled: true, skewSeconds: 120 } });
 * ```
 */
export interface RefreshConfig {
  /** Refresh upstream access tokens on demand. Default: `true`. */
  enabled?: boolean;
  /** Refresh when the upstream token expires within this many seconds. Default: 60. */
  skewSeconds?: number;
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
 * Default rate limit of `/authorize` and `/consent` together: 120 requests per
 * address per minute, far above what people signing in need (an office behind
 * one NAT address included), far below a flood.
 *
 * @example
 * ```ts
 * createOAuthProxy({ ...options, authorizeRateLimit: { ...DEFAULT_AUTHORIZE_RATE_LIMIT, limit: 600 } });
 * ```
 */
export const DEFAULT_AUTHORIZE_RATE_LIMIT = { windowMs: 60_000, limit: 120 } as const;

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
 * Options of {@link createOAuthProxy}. Parsed once, with zod, when the proxy is created.
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
export interface OAuthProxyOptions {
  /** Public URL where the router is mounted; the authorization server's issuer, byte for byte (no trailing slash). */
  issuer: string;
  /** Only `'remote'` today: one mandatory upstream IdP. Default: `'remote'`. */
  mode?: 'remote';
  /** Upstream IdP base URL (discovered with OIDC discovery, then RFC 8414). */
  provider: string;
  /**
   * The proxy's own, pre-registered client id at the upstream. Omit it to let the proxy register
   * itself at an upstream that allows it (see `registration.upstream`); without either the proxy
   * starts, but `ready()` reports the upstream unavailable and sign-ins show an error page.
   */
  clientId?: string;
  /** The proxy's client secret at the upstream (omit for a public upstream client). */
  clientSecret?: string;
  /** Scopes requested from the upstream. Default: `['openid']`. */
  scopes?: string[];
  /** Endpoint overrides and IdP-specific settings. */
  providerConfig?: ProviderConfig;
  /** Consent page settings. */
  consent?: ConsentConfig;
  /** Upstream token refresh settings. */
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

/** `new URL(s)`, or `undefined` (zod runs every refinement, also after `httpUrl` has refused the value). */
const parseUrl = (s: string): URL | undefined => {
  try {
    return new URL(s);
  } catch {
    return undefined;
  }
};
const seconds = (max = 10 * 365 * 24 * 3600) => z.number().int().positive().max(max);
const httpUrl = z.string().refine((s) => {
  try {
    const u = new URL(s);
    return u.protocol === 'https:' || u.protocol === 'http:';
  } catch {
    return false;
  }
}, 'must be an absolute http(s) URL');
const secretValue = z
  .string()
  .refine(
    (s) => Buffer.byteLength(s, 'utf8') >= MIN_SECRET_BYTES,
    `must be at least ${MIN_SECRET_BYTES} bytes; generate one with: node -e "console.log(require('crypto').randomBytes(32).toString('base64url'))"`,
  );
const secretList = z.union([secretValue, z.array(secretValue).min(1)]);
const fn = z.custom<(...args: never[]) => unknown>((v) => typeof v === 'function', 'must be a function');

/** The zod schema. Exported for tooling; {@link parseOptions} is what the proxy uses. */
export const optionsSchema = z
  .object({
    issuer: httpUrl.refine((s) => {
      const u = parseUrl(s);
      return !u || (!u.search && !u.hash && !s.endsWith('/') && u.href.replace(/\/$/, '') === s);
    }, 'must have no query, fragment or trailing slash, and be written canonically (lower-case scheme and host)'),
    mode: z.literal('remote').default('remote'),
    provider: httpUrl,
    clientId: z.string().min(1).optional(),
    clientSecret: z.string().min(1).optional(),
    scopes: z
      .array(z.string().regex(/^[\x21\x23-\x5B\x5D-\x7E]+$/, 'must be a valid scope token'))
      .min(1)
      .default(['openid']),
    providerConfig: z
      .object({
        id: z
          .string()
          .regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1-64 characters of A-Z a-z 0-9 . _ -')
          .optional(),
        authEndpoint: httpUrl.optional(),
        tokenEndpoint: httpUrl.optional(),
        userInfoEndpoint: httpUrl.optional(),
        jwksUri: httpUrl.optional(),
        jwks: z.object({ keys: z.array(z.record(z.string(), z.unknown())).min(1) }).optional(),
        revocationEndpoint: httpUrl.optional(),
        issuer: z.string().min(1).optional(),
        authorizeParams: z.record(z.string(), z.string()).optional(),
        tokenEndpointAuthMethod: z.enum(TOKEN_ENDPOINT_AUTH_METHODS).optional(),
        skipDiscovery: z.boolean().default(false),
        discoveryUrl: httpUrl.optional(),
        tenants: z
          .object({ allow: z.array(z.string().min(1)).optional(), deny: z.array(z.string().min(1)).optional() })
          .strict()
          .optional(),
        profile: fn.optional(),
        tokenClaims: fn.optional(),
        revoke: fn.optional(),
      })
      .strict()
      .default({ skipDiscovery: false }),
    consent: z
      .object({
        enabled: z.boolean().optional(),
        rememberFor: z.number().int().min(0).default(DEFAULT_CONSENT_REMEMBER),
        render: fn.optional(),
        scopeDescriptions: z.record(z.string(), z.string().min(1).max(200)).optional(),
      })
      .strict()
      .default({ rememberFor: DEFAULT_CONSENT_REMEMBER }),
    refresh: z
      .object({
        enabled: z.boolean().default(true),
        skewSeconds: z.number().int().min(0).max(3600).default(DEFAULT_REFRESH_SKEW),
      })
      .strict()
      .default({ enabled: true, skewSeconds: DEFAULT_REFRESH_SKEW }),
    secret: secretList.optional(),
    encryptionKey: secretList.optional(),
    store: z
      .custom<Store>(
        (v) =>
          !!v &&
          typeof v === 'object' &&
          ['get', 'set', 'add', 'take', 'delete', 'deleteIf', 'renewIf', 'ping'].every(
            (m) => typeof (v as Record<string, unknown>)[m] === 'function',
          ),
        'must implement the Store interface (get, set, add, take, delete, deleteIf, renewIf, ping)',
      )
      .optional(),
    resource: httpUrl.refine((s) => !parseUrl(s)?.hash, 'must have no fragment').optional(),
    resourceName: z.string().min(1).max(100).optional(),
    scopeHierarchy: z
      .record(
        z.string().regex(/^[\x21\x23-\x5B\x5D-\x7E]+$/, 'keys must be valid scope tokens'),
        z.array(z.string().regex(/^[\x21\x23-\x5B\x5D-\x7E]+$/, 'must be a valid scope token')),
      )
      .optional(),
    accessTokenTtl: seconds(24 * 3600).default(DEFAULT_ACCESS_TOKEN_TTL),
    refreshTokenTtl: seconds().default(DEFAULT_REFRESH_TOKEN_TTL),
    refreshTokenGracePeriod: z.number().int().min(0).max(300).default(DEFAULT_REFRESH_TOKEN_GRACE_PERIOD),
    authorizationTtl: seconds(3600).default(DEFAULT_AUTHORIZATION_TTL),
    codeTtl: seconds(600).default(DEFAULT_CODE_TTL),
    registration: z
      .object({
        enabled: z.boolean().default(true),
        rateLimit: z
          .union([
            z.literal(false),
            z
              .object({
                windowMs: z
                  .number()
                  .int()
                  .positive()
                  .default(15 * 60_000),
                limit: z.number().int().positive().default(20),
              })
              .strict(),
          ])
          .default({ windowMs: 15 * 60_000, limit: 20 }),
        unusedTtl: seconds().default(DEFAULT_UNUSED_CLIENT_TTL),
        ttl: seconds().default(DEFAULT_CLIENT_TTL),
        upstream: z
          .object({ initialAccessToken: z.string().min(1).optional(), clientName: z.string().min(1).max(200).optional() })
          .strict()
          .optional(),
      })
      .strict()
      .default({
        enabled: true,
        rateLimit: { windowMs: 15 * 60_000, limit: 20 },
        unusedTtl: DEFAULT_UNUSED_CLIENT_TTL,
        ttl: DEFAULT_CLIENT_TTL,
      }),
    allowedRedirectUris: z.array(z.union([z.string().min(1), z.instanceof(RegExp)])).optional(),
    clientMetadataDocuments: z
      .object({
        enabled: z.boolean().default(true),
        allowPrivateAddresses: z.boolean().default(false),
      })
      .strict()
      .default({ enabled: true, allowPrivateAddresses: false }),
    authorizeRateLimit: z
      .union([
        z.literal(false),
        z
          .object({
            windowMs: z.number().int().positive().default(DEFAULT_AUTHORIZE_RATE_LIMIT.windowMs),
            limit: z.number().int().positive().default(DEFAULT_AUTHORIZE_RATE_LIMIT.limit),
          })
          .strict(),
      ])
      .default({ ...DEFAULT_AUTHORIZE_RATE_LIMIT }),
    corsOrigins: z.union([z.literal('*'), z.array(z.string().min(1))]).default('*'),
    logger: z
      .custom<Logger>(
        (v) => !!v && typeof v === 'object' && ['warn', 'error'].every((m) => typeof (v as Record<string, unknown>)[m] === 'function'),
        'must be a pino-compatible logger with at least warn() and error()',
      )
      .optional(),
    clock: fn.optional(),
    fetch: fn.optional(),
    randomBytes: fn.optional(),
  })
  .strict();

/** Options after parsing, with defaults applied (not frozen: internal code only reads them). Internal. */
export type ParsedOptions = z.output<typeof optionsSchema>;

/**
 * Parses options, or throws a `TypeError` whose message names every bad option
 * by its path and says what to do.
 */
export function parseOptions(input: unknown): ParsedOptions {
  if (input === null || typeof input !== 'object') {
    throw new TypeError('createOAuthProxy(options): "options" must be an object');
  }
  const result = optionsSchema.safeParse(input);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => {
      const path = issue.path.length ? issue.path.join('.') : '(root)';
      const msg = issue.code === 'unrecognized_keys' ? `unknown option(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}` : issue.message;
      return `"${path}": ${msg}`;
    });
    const err = new TypeError(`createOAuthProxy(options): invalid option ${lines.join('; ')}`);
    (err as TypeError & { code: string }).code = 'ERR_INVALID_OPTION';
    throw err;
  }
  return result.data;
}

// Keeps the documented interface and the schema in step at compile time.
type _Check = OAuthProxyOptions extends z.input<typeof optionsSchema> ? true : never;
export const _optionsInSync: _Check = true;
