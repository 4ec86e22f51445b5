import type { SessionAuthExtra } from './require-session.js';

/**
 * The shape of the auth info both MCP SDK generations hand to tools (and
 * `requireSession()` puts on `req.auth`), declared here so that this package
 * needs neither SDK.
 */
interface AuthInfoLike {
  token: string;
  clientId: string;
  scopes: string[];
  expiresAt?: number | undefined;
  extra?: Record<string, unknown> | undefined;
}

/**
 * Where a session can be read from: a v2 tool's context (`ctx.http.authInfo`,
 * `@modelcontextprotocol/server` 2.x), a v1 tool's `extra` (`extra.authInfo`,
 * `@modelcontextprotocol/sdk` 1.x), or an Express request that passed `requireSession()` (`req.auth`).
 *
 * @example
 * ```ts
 * const source: SessionSource = ctx; // or extra, or req
 * ```
 */
export type SessionSource =
  | { http?: { authInfo?: AuthInfoLike | undefined } | undefined }
  | { authInfo?: AuthInfoLike | undefined }
  | { auth?: AuthInfoLike | undefined };

/**
 * The session a tool runs in: who signed in, through which client, with which
 * scopes, and the upstream tokens.
 *
 * @example
 * ```ts
 * const { sub, claims, clientId, scopes, upstreamTokens }: ToolSession = getSession(ctx);
 * ```
 */
export interface ToolSession extends SessionAuthExtra {
  /** The MCP client the token was issued to. */
  clientId: string;
  /** The scopes granted to the token. */
  scopes: readonly string[];
  /** When the proxy's access token expires (seconds since epoch). */
  expiresAt?: number;
}

function authInfoOf(source: SessionSource): AuthInfoLike | undefined {
  const s = source as { http?: { authInfo?: AuthInfoLike }; authInfo?: AuthInfoLike; auth?: AuthInfoLike };
  return s.http?.authInfo ?? s.authInfo ?? s.auth;
}

function isSessionExtra(extra: unknown): extra is SessionAuthExtra {
  const e = extra as Partial<SessionAuthExtra> | undefined;
  return typeof e?.sid === 'string' && typeof e.sub === 'string' && typeof e.upstreamTokens?.getToken === 'function';
}

/**
 * Internal: the session, or `undefined` when the source carries none of ours.
 */
export function findSession(source: SessionSource | undefined): ToolSession | undefined {
  const info = source ? authInfoOf(source) : undefined;
  if (!info || !isSessionExtra(info.extra)) return undefined;
  const { sub, sid, claims, upstreamTokens, apps } = info.extra;
  return {
    sub,
    sid,
    claims,
    upstreamTokens,
    ...(apps !== undefined ? { apps } : {}),
    clientId: info.clientId,
    scopes: info.scopes,
    ...(info.expiresAt !== undefined ? { expiresAt: info.expiresAt } : {}),
  };
}

/**
 * The signed-in session of a tool call, typed, on both MCP SDK generations and
 * without casts: pass a v2 tool's `ctx`, a v1 tool's `extra`, or an Express
 * request that passed `requireSession()`.
 *
 * Throws a `TypeError` when there is no session, which means the MCP route is
 * not behind `requireSession()` (or the transport was not handed `req.auth`).
 *
 * @example
 * ```ts
 * import { getSession } from 'mcp-oauth-proxy';
 *
 * // @modelcontextprotocol/server 2.x
 * server.registerTool('whoami', { description: 'Who am I?' }, async (ctx) => {
 *   const { sub, claims, upstreamTokens } = getSession(ctx);
 *   const token = await upstreamTokens.getToken();
 *   return { content: [{ type: 'text', text: `${sub} (${String(claims.email)})` }] };
 * });
 *
 * // @modelcontextprotocol/sdk 1.x: the same, with `extra`
 * server.registerTool('whoami', { description: 'Who am I?' }, async (extra) => {
 *   const { sub } = getSession(extra);
 *   return { content: [{ type: 'text', text: sub }] };
 * });
 * ```
 */
export function getSession(source: SessionSource): ToolSession {
  const session = findSession(source);
  if (session) return session;
  throw new TypeError(
    "getSession(source): no mcp-oauth-proxy session here. Pass the tool handler's context (v2: ctx, v1: extra) or a request, and protect the MCP route with requireSession() so its transport hands req.auth to the tools.",
  );
}
