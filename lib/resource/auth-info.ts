import type { UpstreamTokens } from './upstream-tokens.js';

/**
 * What `requireSession()` puts on `req.auth`: the MCP TypeScript SDKs'
 * `AuthInfo` shape, so the SDK v2 transport hands it to tools as
 * `ctx.http.authInfo` and the v1 transport as `extra.authInfo`. Read it with
 * {@link getSession}. It is frozen, with everything in it, and shared by every
 * request that carries the same token: read it, never change it (copy it first).
 *
 * @example
 * ```ts
 * server.registerTool('whoami', { description: 'Who am I?' }, async (ctx) => {
 *   const { sub, claims } = getSession(ctx); // v2; on v1 pass `extra`
 *   return { content: [{ type: 'text', text: `${sub} (${String(claims.department)})` }] };
 * });
 * ```
 */
export interface AuthInfo {
  /** The proxy's access token (never an upstream token). */
  token: string;
  clientId: string;
  scopes: string[];
  /** Seconds since epoch. */
  expiresAt?: number;
  /** The protected resource the token is bound to (its audience). */
  resource?: URL;
  /** The RFC 9728 metadata URL; SDK v2 puts it in challenges it builds after authentication. */
  resourceMetadataUrl?: string;
  extra?: Record<string, unknown>;
}

/**
 * The typed contents of `req.auth.extra`.
 *
 * @example
 * ```ts
 * const { sub, sid, claims, upstreamTokens }: SessionAuthExtra = getSession(ctx);
 * ```
 */
export interface SessionAuthExtra {
  /** The upstream subject. */
  sub: string;
  /** The stable session id (survives refresh of the proxy's own tokens). */
  sid: string;
  /** The upstream identity's claims (verified id_token, else userinfo), custom claims untouched. */
  claims: Record<string, unknown>;
  /** Same object as `req.upstreamTokens`. */
  upstreamTokens: UpstreamTokens;
  /** Local mode only: the apps this token may reach (its `authorized_apps`), identity app first. */
  apps?: readonly string[];
}
