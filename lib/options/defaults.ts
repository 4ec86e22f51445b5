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
