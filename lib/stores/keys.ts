/**
 * Internal: every key the proxy writes, in one place (see README, "Storage
 * schema"). Session-scoped keys put the session id in a Redis Cluster hash tag
 * (`{sid}`) so that everything of one session lives on one slot.
 * Codes, refresh tokens and `state` appear in keys only as SHA-256 hashes.
 * The proxy writes them through a view that puts its namespace before each
 * (`storeNamespace(issuer)`, see ./namespaced.ts).
 */
export const keys = {
  /** Registered client (JSON). TTL: unused/used client TTL. */
  client: (clientId: string) => `client:${clientId}`,
  /** Pending authorization, by hash of the upstream `state` (JSON). TTL: authorizationTtl. Consumed atomically. */
  pending: (stateHash: string) => `pending:${stateHash}`,
  /** One-time code, by hash (JSON). TTL: codeTtl. Consumed atomically. */
  code: (codeHash: string) => `code:${codeHash}`,
  /** Marker that a code was redeemed: the session it issued, the client, the PKCE challenge and when (JSON; a proven replay ⇒ revoke). TTL: 10 × codeTtl. */
  codeUsed: (codeHash: string) => `code-used:${codeHash}`,
  /**
   * Grant record: the session behind one sign-in's tokens (JSON, no secrets). TTL: refreshTokenTtl, sliding.
   * The `sess:` prefix predates the name and stays, so records stored before keep working.
   */
  grant: (sid: string) => `sess:{${sid}}`,
  /** Sealed upstream tokens for one provider of one session (AES-256-GCM). TTL: session or upstream refresh lifetime. */
  vault: (sid: string, providerId: string) => `vault:{${sid}}:${providerId}`,
  /** Upstream refresh lock (random owner token). TTL: lock lease, renewed while held. */
  refreshLock: (sid: string, providerId: string) => `lock:{${sid}}:${providerId}`,
  /** Refresh token record, by hash (JSON). TTL: refreshTokenTtl. */
  refreshToken: (tokenHash: string) => `rt:${tokenHash}`,
  /** Rotation claim of a refresh token: its sealed successor. Written with add() so only one rotation wins. */
  refreshRotated: (tokenHash: string) => `rt-next:${tokenHash}`,
  /** The proxy's own client at an upstream it registered at (RFC 7591), sealed JSON. TTL: the secret's expiry, else 365 days. */
  upstreamClient: (providerId: string) => `upstream-client:${providerId}`,
  /** Claim of one upstream registration (`first`, or the hash of the client id it replaces). TTL: 30 s. Written with add(). */
  upstreamRegistrationClaim: (providerId: string, which: string) => `upstream-reg:${providerId}:${which}`,
  /** Rate-limit counter of one endpoint for one client address (hashed). TTL: the limit's window. */
  rateLimit: (name: string, addressHash: string) => `rl:${name}:${addressHash}`,
} as const;

/** Pub/sub channel on which ended session ids are broadcast. */
export const SESSION_ENDED_CHANNEL = 'mcp-oauth:session-ended';
