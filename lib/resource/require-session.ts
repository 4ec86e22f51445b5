import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { AccessTokenClaims } from '../tokens/access-token.js';
import type { ProxyUrls } from '../http/urls.js';
import type { AccessTokens } from '../tokens/access-token.js';
import type { EndedGrants } from '../grants/ended.js';
import type { UpstreamRegistry } from '../upstream/registry.js';
import type { Store } from '../stores/store.js';
import type { ResolvedLogger } from '../logger.js';
import { InsufficientScopeError, InvalidTokenError, ServerError, TemporarilyUnavailableError } from '../errors.js';
import { sendBearerError, sendJsonError } from '../http/respond.js';
import type { TokenBroker } from '../grants/token-broker.js';
import type { AppCatalog } from '../grants/catalog.js';
import type { LinkTickets } from '../grants/link-tickets.js';
import { SessionUpstreamTokens, type UpstreamTokens } from './upstream-tokens.js';

export type { UpstreamTokens } from './upstream-tokens.js';
export type { AuthInfo, SessionAuthExtra } from './auth-info.js';
import type { AuthInfo, SessionAuthExtra } from './auth-info.js';
import type { ParsedOptions } from '../options.js';
import { advertisedScopes, challengeScopes, expandScopes } from './scopes.js';
import { hostOriginCheck, type HostOriginOptions } from './host-origin.js';

/** Internal: what `requireSession()` uses (the SDK's `OAuthTokenVerifier` habit: the few collaborators it calls). */
export interface ResourceGuardDeps {
  urls: Pick<ProxyUrls, 'resource' | 'resourceMetadata' | 'authorize'>;
  accessTokens: AccessTokens;
  ended: EndedGrants;
  broker: TokenBroker;
  store: Pick<Store, 'available'>;
  logger: ResolvedLogger;
  upstreams: UpstreamRegistry;
  catalog: AppCatalog;
  linkTickets: LinkTickets;
  options: Pick<ParsedOptions, 'scopes' | 'scopeHierarchy'>;
}

// Only `upstreamTokens` is declared on Express's Request. `req.auth` is the MCP SDKs' property: both
// generations declare it with their own `AuthInfo` type, and a second declaration of another type is
// TS2717 for anyone who compiles with skipLibCheck: false. Read it typed with `getSession(req)`.
declare module 'express-serve-static-core' {
  interface Request {
    /** Set by `requireSession()`: the session's upstream tokens. */
    upstreamTokens?: UpstreamTokens;
  }
}

/** Internal: a request as `requireSession()` leaves it. */
export type SessionRequest = Request & { auth?: AuthInfo };

/**
 * Options of `requireSession()`.
 *
 * @example
 * ```ts
 * app.all('/admin/mcp', oauth.requireSession({ scopes: ['profile'] }), handler);
 * ```
 */
export interface RequireSessionOptions {
  /**
   * Scopes every request must carry; a token without them gets 403
   * `insufficient_scope`. A scope implied through the proxy's `scopeHierarchy`
   * counts (`mcp:write` satisfies `mcp:read` when so configured).
   */
  scopes?: string[];
  /** Host names the route answers to; turns on Host and Origin validation (see {@link HostOriginOptions}). */
  allowedHosts?: HostOriginOptions['allowedHosts'];
  /** Browser origins allowed to call the route (needs `allowedHosts`; see {@link HostOriginOptions}). */
  allowedOrigins?: HostOriginOptions['allowedOrigins'];
  /**
   * Local mode: the app this route serves. A token whose `authorized_apps`
   * lacks it gets 403 `insufficient_scope` naming every scope needed (the
   * current ones and the app's), so the client steps up; `getToken()` then
   * defaults to this app. Mount app routes at or below the proxy's `resource`
   * (e.g. `/mcp/erp` under `/mcp`): MCP clients accept protected-resource
   * metadata only for the route's URL or a parent of it.
   */
  app?: string;
}

/** The route's app, checked now: an unknown app is a startup error, not a 403 at request time. */
function routeApp(ctx: ResourceGuardDeps, app: unknown): string | undefined {
  if (app === undefined) return undefined;
  const known = ctx.catalog.local ? ctx.catalog.all().map((a) => a.id) : [ctx.upstreams.primary.id];
  if (typeof app !== 'string' || !known.includes(app))
    throw new TypeError(`requireSession(opts): "opts.app" must be one of ${known.map((a) => `"${a}"`).join(', ')}`);
  return app;
}

/**
 * An app route must sit at or below the resource: MCP clients accept protected-resource metadata
 * only for the route's URL or a parent of it, so elsewhere every client would fail to sign in, with
 * no hint why. Such a route answers 500 naming the fix (logged once), instead of a 401 nobody can act on.
 */
function appRouteOutsideResource(
  ctx: ResourceGuardDeps,
  app: string | undefined,
  resource: URL,
): ((req: Request, res: Response) => boolean) | undefined {
  if (app === undefined || !ctx.catalog.local) return undefined;
  const base = resource.pathname.replace(/\/$/, '');
  let warned = false;
  return (req, res) => {
    const path = (req.originalUrl ?? req.url).split('?', 1)[0]!;
    if (path === base || path.startsWith(`${base}/`) || base === '') return false;
    const message = `requireSession({ app: "${app}" }) is mounted at ${path}, outside the resource ${resource.href}: mount app routes at or below it (e.g. ${base}/${app}), or give this API its own proxy and "resource"`;
    if (!warned) ctx.logger.error({ app, path }, message);
    warned = true;
    sendJsonError(res, new ServerError(message));
    return true;
  };
}

/** Freezes a JSON value (the upstream claims) and everything in it. */
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/**
 * Internal: builds the middleware for one proxy. Per request it verifies the
 * HS256 token (cached after the first jose verification), checks the per-process
 * ended-session set and the store's health flag — no network or store round
 * trip — and attaches `req.auth` and a lazy `req.upstreamTokens`.
 */
export function sessionMiddleware(ctx: ResourceGuardDeps, opts: RequireSessionOptions = {}): RequestHandler {
  const required = opts.scopes ?? [];
  if (!Array.isArray(required) || required.some((s) => typeof s !== 'string'))
    throw new TypeError('requireSession(opts): "opts.scopes" must be an array of strings');
  const { urls, accessTokens, ended, broker, store, logger, catalog } = ctx;
  const hierarchy = ctx.options.scopeHierarchy;
  const app = routeApp(ctx, opts.app);
  // The 401 names the route's scopes, else the baseline (RFC 6750 §3, MCP 2026-07-28); never offline_access.
  // Local mode's baseline: the required apps and the top-level scopes; an app route adds its app.
  const baseline = catalog.local ? catalog.baseline() : advertisedScopes(ctx.options.scopes);
  const appScope = app !== undefined && catalog.local ? catalog.scopeOf(app) : undefined;
  const challenge = challengeScopes([...(required.length ? required : baseline), ...(appScope ? [appScope] : [])], hierarchy).join(' ');
  const unauthorized = (res: Response, err?: InvalidTokenError) => sendBearerError(res, err, urls.resourceMetadata, challenge || undefined);
  if (opts.allowedOrigins !== undefined && opts.allowedHosts === undefined)
    throw new TypeError('requireSession(opts): "opts.allowedOrigins" needs "opts.allowedHosts" too');
  const guard =
    opts.allowedHosts !== undefined
      ? hostOriginCheck(
          { allowedHosts: opts.allowedHosts, ...(opts.allowedOrigins !== undefined ? { allowedOrigins: opts.allowedOrigins } : {}) },
          'requireSession(opts)',
        )
      : undefined;
  const resourceUrl = new URL(urls.resource);
  const tokensDeps = { broker, catalog, linkTickets: ctx.linkTickets, authorizeUrl: urls.authorize };
  void ended.start();
  // One frozen AuthInfo per verified token, shared by every request that carries it: nothing in it
  // depends on the request, and building it (five objects, a split) is most of the middleware's work.
  const built = new WeakMap<AccessTokenClaims, AuthInfo>();
  const authFor = (token: string, claims: AccessTokenClaims): AuthInfo => {
    const known = built.get(claims);
    if (known !== undefined && known.token === token) return known;
    const identityClaims = deepFreeze(claims.upc ?? { sub: claims.sub });
    const apps = catalog.local ? (claims.authorized_apps ?? []) : [ctx.upstreams.primary.id];
    const upstreamTokens = Object.freeze(
      new SessionUpstreamTokens(tokensDeps, {
        sid: claims.sid,
        clientId: claims.client_id,
        defaultProvider: app ?? apps[0] ?? ctx.upstreams.primary.id,
        authorized: catalog.local ? apps : undefined,
        identityClaims,
      }),
    );
    const extra: SessionAuthExtra = Object.freeze({
      sub: claims.sub,
      sid: claims.sid,
      claims: identityClaims,
      upstreamTokens,
      ...(catalog.local ? { apps } : {}),
    });
    const scopes = Object.freeze(claims.scope ? claims.scope.split(' ') : []) as string[];
    const auth: AuthInfo = Object.freeze({
      token,
      clientId: claims.client_id,
      scopes,
      expiresAt: claims.exp,
      resource: resourceUrl,
      resourceMetadataUrl: urls.resourceMetadata,
      extra: extra as unknown as Record<string, unknown>,
    });
    built.set(claims, auth);
    return auth;
  };
  const admit = (req: Request, res: Response, next: NextFunction, token: string, claims: AccessTokenClaims): void => {
    if (ended.has(claims.sid)) return unauthorized(res, new InvalidTokenError('The session has ended; sign in again'));
    const auth = authFor(token, claims);
    if (appScope !== undefined && !claims.authorized_apps?.includes(app!)) {
      // The token lacks the app: a step-up to every scope needed, the current ones and the app's (MCP 2026-07-28 §scope challenge).
      const needed = challengeScopes([...auth.scopes, ...required, appScope], hierarchy).join(' ');
      return sendBearerError(
        res,
        new InsufficientScopeError(`This resource needs the app "${app}"; authorize it (scope "${appScope}")`),
        urls.resourceMetadata,
        needed,
      );
    }
    if (required.length > 0) {
      const granted = hierarchy ? expandScopes(auth.scopes, hierarchy) : new Set(auth.scopes);
      if (required.some((s) => !granted.has(s))) {
        // One challenge naming every scope needed, the ones already granted included, so a step-up keeps them.
        const needed = challengeScopes([...auth.scopes, ...required], hierarchy).join(' ');
        return sendBearerError(
          res,
          new InsufficientScopeError(`This resource requires scope "${required.join(' ')}"`),
          urls.resourceMetadata,
          needed,
        );
      }
    }
    (req as SessionRequest).auth = auth;
    req.upstreamTokens = (auth.extra as unknown as SessionAuthExtra).upstreamTokens;
    next();
  };
  const outside = appRouteOutsideResource(ctx, app, resourceUrl);
  const check: RequestHandler = (req, res, next) => {
    if (outside?.(req, res)) return;
    const header = req.headers.authorization;
    if (!header || !/^bearer /i.test(header)) return unauthorized(res);
    if (!store.available)
      return sendJsonError(
        res,
        new TemporarilyUnavailableError('The session store is unavailable; your token is still valid, retry shortly'),
      );
    const token = header.slice(7).trim();
    const known = accessTokens.cached(token);
    if (known !== undefined) return admit(req, res, next, token, known);
    accessTokens.verify(token).then(
      (claims) => admit(req, res, next, token, claims),
      (err: unknown) => {
        if (err instanceof InvalidTokenError) return unauthorized(res, err);
        sendJsonError(res, err, logger);
      },
    );
  };
  if (!guard) return check;
  return (req, res, next) => guard(req, res, () => check(req, res, next));
}
