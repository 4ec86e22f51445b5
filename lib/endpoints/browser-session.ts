import session from 'express-session';
import type { Request, RequestHandler } from 'express';
import type { EndpointServices } from './services.js';
import type { Transaction } from '../grants/pending.js';
import { withoutTouch } from '../stores/session-store.js';

export type { Transaction } from '../grants/pending.js';

/** Internal: the collaborators this endpoint uses. */
export type BrowserSessionDeps = Pick<EndpointServices, 'options' | 'cookieSecrets' | 'store' | 'urls' | 'logger' | 'clock'>;

/** What the proxy keeps in the browser's session (express-session). */
export interface BrowserState {
  /** Hashes of upstream `state` values this browser started (binds the callback to this browser). */
  pending: string[];
  /** Transactions shown on a consent page, with their CSRF tokens. */
  consent: Record<string, { txn: Transaction; csrf: string; expires: number }>;
  /** Remembered approvals per client. */
  approvals: Record<string, { redirectUri: string; scope: string; until: number }>;
  /** Local mode: the grant this browser signed in per client, so a step-up extends it (absent in older sessions). */
  grants?: Record<string, { sid: string; until: number }>;
}

declare module 'express-session' {
  interface SessionData {
    mop?: BrowserState;
  }
}

/** Cookie name of the browser leg. */
export const BROWSER_COOKIE = 'mcp_oauth_proxy';
const MAX_PENDING = 10;
/** Proxies that already warned about an https issuer reached over plain http (once per proxy). */
const warnedInsecure = new WeakSet<object>();

/**
 * Internal: express-session for the browser leg (pending authorization,
 * consent, CSRF). The cookie is HttpOnly, SameSite=Lax, Secure when the issuer
 * is https, scoped to the issuer's path, and signed with a key derived from
 * `secret`. Sessions live in the proxy's store (connect-redis over the same
 * client for RedisStore), so any instance can finish a flow another started.
 *
 * A new browser session lives for `authorizationTtl` only: anyone can create
 * one with an anonymous `GET /authorize`. Only a remembered approval whose
 * sign-in completed extends it, to `consent.rememberFor` ({@link rememberApproval}).
 */
export function browserSession(ctx: BrowserSessionDeps): RequestHandler {
  const o = ctx.options;
  const maxAgeMs = o.authorizationTtl * 1000;
  const mw = session({
    name: BROWSER_COOKIE,
    secret: ctx.cookieSecrets,
    store: withoutTouch(ctx.store.sessionStore()), // under the proxy's namespace; never rolls, so no touch (see withoutTouch)
    resave: false,
    saveUninitialized: false,
    rolling: false,
    unset: 'keep',
    cookie: { path: ctx.urls.cookiePath, httpOnly: true, sameSite: 'lax', secure: ctx.urls.secureCookies, maxAge: maxAgeMs },
  });
  if (!ctx.urls.secureCookies) return mw;
  return (req, res, next) => {
    // express-session silently drops a Secure cookie on a request it sees as http; every consent would then fail its CSRF check.
    if (!req.secure && !warnedInsecure.has(ctx)) {
      warnedInsecure.add(ctx);
      ctx.logger.warn(
        {},
        "the issuer is https but a browser request arrived over http, so the Secure browser-session cookie cannot be set and consent and sign-in will fail. Behind a TLS-terminating proxy, call app.set('trust proxy', …) so Express sees X-Forwarded-Proto.",
      );
    }
    mw(req, res, next);
  };
}

/** The browser state of this request (created on first write). */
export function browserState(req: Request): BrowserState {
  req.session.mop ??= { pending: [], consent: {}, approvals: {} };
  return req.session.mop;
}

/**
 * Extends this browser session to `consent.rememberFor` when it holds a live
 * approval for `clientId`: called once the upstream sign-in completed, so that
 * scripted approvals of one's own consent pages never make durable records.
 */
export function rememberApproval(ctx: BrowserSessionDeps, req: Request, clientId: string): void {
  const approval = req.session.mop?.approvals[clientId];
  const rememberMs = ctx.options.consent.rememberFor * 1000;
  if (!approval || approval.until <= ctx.clock() || rememberMs <= 0) return;
  if ((req.session.cookie.maxAge ?? 0) < rememberMs) req.session.cookie.maxAge = rememberMs;
}

/** Grants remembered per browser (the oldest goes first). */
const MAX_GRANTS = 20;

/**
 * Local mode: remembers that this browser completed the sign-in of grant `sid`
 * for `clientId`, and keeps the browser session as long as the grant may live,
 * so that a later step-up in this browser extends the same grant.
 */
export function rememberGrant(ctx: BrowserSessionDeps, req: Request, clientId: string, sid: string): void {
  const s = browserState(req);
  const now = ctx.clock();
  const ttlMs = ctx.options.refreshTokenTtl * 1000;
  const live = Object.entries(s.grants ?? {})
    .filter(([id, g]) => g.until > now && id !== clientId)
    .slice(-(MAX_GRANTS - 1));
  s.grants = Object.fromEntries([...live, [clientId, { sid, until: now + ttlMs }]]);
  if ((req.session.cookie.maxAge ?? 0) < ttlMs) req.session.cookie.maxAge = ttlMs;
}

/** Local mode: the grant this browser signed in for `clientId`, if it remembers one. Read only. */
export function rememberedGrant(ctx: BrowserSessionDeps, req: Request, clientId: string): string | undefined {
  const g = req.session.mop?.grants?.[clientId];
  return g && g.until > ctx.clock() ? g.sid : undefined;
}

/** Binds an upstream state hash to this browser. */
export function bindPending(req: Request, stateHash: string): void {
  const s = browserState(req);
  s.pending = [...s.pending.slice(-(MAX_PENDING - 1)), stateHash];
}

/** Removes a state hash from this browser; `true` when it was there. */
export function unbindPending(req: Request, stateHash: string): boolean {
  const s = req.session.mop;
  if (!s || !s.pending.includes(stateHash)) return false;
  s.pending = s.pending.filter((h) => h !== stateHash);
  return true;
}

/** Saves the browser session (express-session) explicitly before a redirect, so the next request (maybe on another instance) sees it. */
export function saveBrowserSession(req: Request): Promise<void> {
  return new Promise((resolve, reject) => req.session.save((err) => (err ? reject(err) : resolve())));
}
