import { Router, type Request, type RequestHandler } from 'express';
import { parseOptions, type OAuthProxyOptions } from './options.js';
import { createContext, type ProxyContext } from './context.js';
import { cors } from './endpoints/cors.js';
import { authorizationServerMetadata, protectedResourceMetadata, serveJson } from './endpoints/metadata.js';
import { registerEndpoint } from './endpoints/register.js';
import { authorizeEndpoint } from './endpoints/authorize.js';
import { consentEndpoint } from './endpoints/consent.js';
import { callbackEndpoint } from './endpoints/callback.js';
import { tokenEndpoint } from './endpoints/token.js';
import { revokeEndpoint } from './endpoints/revoke.js';
import { upstreamClientDocumentEndpoint } from './endpoints/upstream-client-document.js';
import { jsonErrorHandler } from './http/respond.js';
import { sessionMiddleware, type RequireSessionOptions, type SessionRequest } from './resource/require-session.js';
import { describeError } from './logger.js';

/**
 * Health of the proxy's dependencies, for a `/ready` endpoint.
 *
 * @example
 * ```ts
 * const { ready, store, upstream }: ReadyState = await oauth.ready();
 * ```
 */
export interface ReadyState {
  ready: boolean;
  store: 'ok' | 'unavailable';
  upstream: 'ok' | 'unavailable';
  /** Local mode: each app's upstream; `upstream` is `'ok'` only when every one is. */
  apps?: Record<string, 'ok' | 'unavailable'>;
}

/**
 * The proxy: an Express Router to mount at the issuer's path, plus the root
 * `/.well-known` documents, the session middleware and lifecycle helpers.
 *
 * @example
 * ```ts
 * const oauth = createOAuthProxy(options);
 * app.use(oauth.wellKnown);
 * app.use('/oauth', oauth);
 * app.all('/mcp', oauth.requireSession(), mcpHandler);
 * app.get('/ready', async (_req, res) => { const s = await oauth.ready(); res.status(s.ready ? 200 : 503).json(s); });
 * ```
 */
export interface OAuthProxy extends Router {
  /** Router for the app root: RFC 8414 (path-inserted) and RFC 9728 (root and path forms) documents. */
  readonly wellKnown: Router;
  /** The middleware that protects MCP routes with this proxy's tokens. */
  requireSession(opts?: RequireSessionOptions): RequestHandler;
  /** Ends the session of a request that passed `requireSession()`, or of a session id, on every instance. */
  logout(target: Request | string): Promise<void>;
  /** Reports store and upstream health (pings the store, runs discovery if not yet done). */
  ready(): Promise<ReadyState>;
  /** Releases subscriptions and timers this proxy created (not the store's client). */
  close(): Promise<void>;
  /** The upstream provider id tools pass to `getToken()`. */
  readonly providerId: string;
}

const proxies = new Set<OAuthProxy>();
const contexts = new WeakMap<OAuthProxy, ProxyContext>();

/**
 * Creates the OAuth proxy. Options are validated now: a bad option throws a
 * `TypeError` naming its path. Upstream discovery runs on first use.
 *
 * @example
 * ```ts
 * import express from 'express';
 * import { createOAuthProxy, requireSession } from 'mcp-oauth-proxy';
 *
 * const app = express();
 * const oauth = createOAuthProxy({
 *   issuer: 'https://mcp.example.com/oauth',
 *   provider: 'https://login.example.com',
 *   clientId: 'mcp-proxy',
 *   clientSecret: process.env.IDP_CLIENT_SECRET,
 *   secret: process.env.OAUTH_PROXY_SECRET,
 *   encryptionKey: process.env.OAUTH_PROXY_VAULT_KEY,
 * });
 * app.use(oauth.wellKnown);
 * app.use('/oauth', oauth);
 * app.all('/mcp', requireSession(), mcpHandler);
 * ```
 */
export function createOAuthProxy(options: OAuthProxyOptions): OAuthProxy {
  const ctx = createContext(parseOptions(options));
  const { urls } = ctx;
  const corsMw = cors(ctx.options.corsOrigins);
  const asMetadata = serveJson(authorizationServerMetadata(ctx));
  const prMetadata = serveJson(protectedResourceMetadata(ctx));

  const router = Router() as OAuthProxy;
  router.use('/.well-known/oauth-authorization-server', corsMw);
  router.get('/.well-known/oauth-authorization-server', asMetadata);
  if (ctx.options.registration.enabled) router.use('/register', corsMw, registerEndpoint(ctx));
  router.use('/token', corsMw, tokenEndpoint(ctx));
  router.use('/revoke', corsMw, revokeEndpoint(ctx));
  router.use('/authorize', authorizeEndpoint(ctx));
  router.use('/consent', consentEndpoint(ctx));
  router.use('/callback', callbackEndpoint(ctx));
  router.use('/upstream-client', upstreamClientDocumentEndpoint(ctx));
  // Browser clients probe discovery documents we do not serve (openid-configuration, …): their 404s carry CORS too.
  router.use('/.well-known', corsMw);
  router.use(jsonErrorHandler(ctx.logger));

  const wellKnown = Router();
  for (const path of new Set([urls.asMetadataPath])) wellKnown.use(path, corsMw).get(path, asMetadata);
  for (const path of new Set([urls.resourceMetadataPath, '/.well-known/oauth-protected-resource']))
    wellKnown.use(path, corsMw).get(path, prMetadata);
  wellKnown.use('/.well-known', corsMw);

  Object.defineProperties(router, {
    wellKnown: { value: wellKnown, enumerable: true },
    providerId: { value: ctx.upstreams.primary.id, enumerable: true },
    requireSession: { value: (opts?: RequireSessionOptions) => sessionMiddleware(ctx, opts) },
    logout: {
      value: async (target: Request | string) => {
        const sid = typeof target === 'string' ? target : ((target as SessionRequest).auth?.extra as { sid?: unknown } | undefined)?.sid;
        if (typeof sid !== 'string')
          throw new TypeError('logout(target): "target" must be a session id or a request that passed requireSession()');
        await ctx.grants.end(sid, 'logout');
      },
    },
    ready: {
      value: async (): Promise<ReadyState> => {
        const store = await ctx.store.ping().then(
          () => 'ok' as const,
          () => 'unavailable' as const,
        );
        const ids = ctx.upstreams.ids();
        const states = await Promise.all(
          ids.map((id) =>
            ctx.upstreams
              .get(id)!
              .discover()
              .then(
                () => 'ok' as const,
                (err: unknown) => {
                  ctx.logger.warn({ provider: id, err: describeError(err) }, 'upstream not ready');
                  return 'unavailable' as const;
                },
              ),
          ),
        );
        const upstream = states.every((st) => st === 'ok') ? ('ok' as const) : ('unavailable' as const);
        const apps = ctx.catalog.local ? { apps: Object.fromEntries(ids.map((id, i) => [id, states[i]!])) } : {};
        return { ready: store === 'ok' && upstream === 'ok', store, upstream, ...apps };
      },
    },
    close: {
      value: async () => {
        proxies.delete(router);
        await ctx.ended.close();
      },
    },
  });
  proxies.add(router);
  contexts.set(router, ctx);
  return router;
}

/**
 * Options of the standalone {@link requireSession}.
 *
 * @example
 * ```ts
 * app.all('/mcp', requireSession({ proxy: oauth, scopes: ['openid'] }), handler);
 * ```
 */
export interface StandaloneRequireSessionOptions extends RequireSessionOptions {
  /** The proxy whose tokens to accept. Default: the one proxy created in this process. */
  proxy?: OAuthProxy;
}

/**
 * Protects a route with the proxy's HS256 access tokens and attaches `req.auth`
 * (the MCP SDK's `AuthInfo`) and `req.upstreamTokens`. Missing or bad tokens get
 * 401 with `WWW-Authenticate: Bearer … resource_metadata="…"`; a store outage
 * gets 503, never 401.
 *
 * @example
 * ```ts
 * app.all('/mcp', requireSession(), async (req, res) => {
 *   const token = await req.upstreamTokens!.getToken('upstream');
 *   // …
 * });
 * ```
 */
export function requireSession(opts: StandaloneRequireSessionOptions = {}): RequestHandler {
  const { proxy, ...rest } = opts;
  if (proxy) {
    if (!contexts.has(proxy)) throw new TypeError('requireSession(opts): "opts.proxy" must be a proxy returned by createOAuthProxy()');
    return proxy.requireSession(rest);
  }
  if (proxies.size === 0)
    throw new TypeError('requireSession(): no OAuth proxy exists yet; call createOAuthProxy(options) first, or pass { proxy }');
  if (proxies.size > 1)
    throw new TypeError(
      `requireSession(): ${proxies.size} OAuth proxies exist in this process; pass { proxy } (or use oauth.requireSession()) to choose one`,
    );
  return [...proxies][0]!.requireSession(rest);
}
