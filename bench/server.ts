/**
 * The benchmark's server process (spawned by bench/run.ts with an IPC channel).
 * One HTTP server on 127.0.0.1 serves every route under test with the same
 * handler, each route in its own Express 5 app (found by exact path, O(1)), so
 * the only difference between two routes is the middleware in front:
 *
 *   GET /plain                 unprotected
 *   GET /memory/mcp            oauth.requireSession() (MemoryStore)
 *   GET /local/mcp/a3          oauth.requireSession({ app: 'a3' }) of a local-mode proxy, 3 linked apps (MemoryStore)
 *   GET /memory/mcp-vault      … + await req.upstreamTokens.tryGetToken()
 *   GET /redis/mcp(-vault)     the same on a RedisStore
 *   GET /sdk/mcp               the MCP SDK's requireBearerAuth with a jose HS256 verifier
 *
 *   GET /memory-exp/mcp-vault  tryGetToken() where every upstream token needs a refresh (bench/refresh.ts)
 *   GET /redis-exp/mcp-vault   the same on RedisStore
 *   GET /memory-once/mcp-vault, /redis-once/mcp-vault, /redis-once-b/mcp-vault
 *                              tokens that need one refresh; /redis-once-b is a second proxy instance on
 *                              the same Redis and issuer, so a burst across both shows the store lock
 *
 * The proxies are mounted at /<name>/oauth and sign in at the stub upstreams
 * (bench/upstream.ts), which run in the load generator (BENCH_UPSTREAM…) or here.
 */
import http from 'node:http';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import express, { type Express, type RequestHandler } from 'express';
import { jwtVerify } from 'jose';
import { createClient } from 'redis';
import { requireBearerAuth } from '@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js';
import { InvalidTokenError as SdkInvalidTokenError } from '@modelcontextprotocol/sdk/server/auth/errors.js';
import { createOAuthProxy, MemoryStore, RedisStore, type OAuthProxy, type Store } from '../lib/index.js';
import { startStubUpstream, type StubUpstream } from './upstream.js';
import { startFastMcp } from './peer.js';

export const BENCH_SECRET = 'bench-signing-secret-0123456789-abcdefghijk';
const BENCH_VAULT_KEY = 'bench-vault-key-0123456789-abcdefghijklmnopq';

/** What the server tells bench/run.ts once it listens. */
export interface ServerReady {
  type: 'ready';
  base: string;
  issuers: { memory: string; redis?: string };
  /** The local-mode proxy (3 apps) behind `/local/mcp/a3`. */
  localIssuer: string;
  /** Proxies whose upstream tokens always need a refresh. */
  refreshIssuers: { memory: string; redis?: string };
  /** Proxies whose upstream tokens need one refresh (then last an hour). */
  onceIssuers: { memory: string; redis?: string };
  redisError?: string;
  /** Base URL of the fastmcp peer (bench/peer.ts), or why it could not start. */
  fastmcp?: string;
  fastmcpError?: string;
}

const warnings: string[] = [];
const logger = {
  warn: (obj: unknown, msg?: string) => {
    warnings.push(msg ?? JSON.stringify(obj));
  },
  error: (obj: unknown, msg?: string) => {
    console.error('[bench server] error:', msg, JSON.stringify(obj));
  },
};

const ok: RequestHandler = (_req, res) => {
  res.json({ ok: true });
};
const okWithUpstreamToken: RequestHandler = async (req, res) => {
  try {
    const token = await req.upstreamTokens!.tryGetToken();
    if (token === null) res.status(500).json({ error: 'no upstream token in the vault' });
    else res.json({ ok: true });
  } catch (err) {
    res.status(500).json({ error: err instanceof Error ? err.message : String(err) });
  }
};

async function main(): Promise<void> {
  // The stub upstream runs in the load generator when it gives one (BENCH_UPSTREAM), so that the server's
  // CPU time is the proxy's alone; else here (bench/profile.ts, ad-hoc runs).
  const upstream: StubUpstream = process.env.BENCH_UPSTREAM
    ? { issuer: process.env.BENCH_UPSTREAM, counts: {}, close: async () => {} }
    : await startStubUpstream();
  const expiring: StubUpstream = process.env.BENCH_UPSTREAM_EXPIRING
    ? { issuer: process.env.BENCH_UPSTREAM_EXPIRING, counts: {}, close: async () => {} }
    : await startStubUpstream({ expiresIn: 1 });
  const once: StubUpstream = process.env.BENCH_UPSTREAM_ONCE
    ? { issuer: process.env.BENCH_UPSTREAM_ONCE, counts: {}, close: async () => {} }
    : await startStubUpstream({ expiresIn: 1, refreshedExpiresIn: 3600 });
  // One Express app per route under test, each with the route as its only layer, so that no route pays for
  // the path matching of the ones registered before it; the proxies' own endpoints get an app each too.
  const apps = new Map<string, Express>();
  const route = (path: string, ...handlers: RequestHandler[]) => {
    const app = express();
    app.disable('x-powered-by');
    app.get(path, ...handlers);
    apps.set(path, app);
  };
  const mount = (prefix: string, router: RequestHandler) => {
    const app = express();
    app.disable('x-powered-by');
    app.use(prefix, router);
    apps.set(prefix, app);
  };
  const notFound = (_req: http.IncomingMessage, res: http.ServerResponse) => {
    res.writeHead(404).end();
  };
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0]!;
    const app = apps.get(path) ?? apps.get(path.slice(0, path.indexOf('/oauth') + 6));
    if (app) app(req, res);
    else notFound(req, res);
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const resource = `${base}/mcp`;

  const proxy = (name: string, store: Store, provider = upstream.issuer): OAuthProxy =>
    createOAuthProxy({
      issuer: `${base}/${name}/oauth`,
      provider,
      clientId: 'bench-proxy',
      clientSecret: 'bench-proxy-upstream-secret',
      scopes: ['profile'], // no 'openid': no id_token, the identity comes from userinfo
      providerConfig: { id: 'upstream' },
      secret: BENCH_SECRET,
      encryptionKey: BENCH_VAULT_KEY,
      resource,
      consent: { enabled: true }, // a fresh browser sees the consent page on every sign-in (as the default with open registration)
      registration: { rateLimit: false },
      // The limiter stays in the path (its store counter is part of a sign-in's cost) but never trips: every bench browser is 127.0.0.1.
      authorizeRateLimit: { windowMs: 60_000, limit: 1_000_000_000 },
      logger,
      store,
    });

  // The SDK's requireBearerAuth with the verifier an SDK user would write: jose jwtVerify, HS256, same checks.
  const key = new Uint8Array(Buffer.from(BENCH_SECRET, 'utf8'));
  const sdk = requireBearerAuth({
    verifier: {
      async verifyAccessToken(token: string) {
        try {
          const { payload } = await jwtVerify(token, key, {
            algorithms: ['HS256'],
            issuer: `${base}/memory/oauth`,
            audience: resource,
            typ: 'at+jwt',
            requiredClaims: ['sub', 'exp'],
          });
          const scope = typeof payload.scope === 'string' ? payload.scope : '';
          return {
            token,
            clientId: String(payload.client_id),
            scopes: scope ? scope.split(' ') : [],
            expiresAt: payload.exp,
            resource: new URL(resource),
            extra: { sub: payload.sub },
          };
        } catch {
          throw new SdkInvalidTokenError('Invalid token');
        }
      },
    },
  });

  const memoryStore = new MemoryStore({ logger });
  const memory = proxy('memory', memoryStore);
  route('/plain', ok);
  route('/memory/mcp', memory.requireSession(), ok);
  route('/memory/mcp-vault', memory.requireSession(), okWithUpstreamToken);
  route('/sdk/mcp', sdk, ok);
  // Local mode (issue 10): three apps, each "at its own IdP" (the same stub, three provider ids); a sign-in links all three.
  const localStore = new MemoryStore({ logger });
  const local = createOAuthProxy({
    issuer: `${base}/local/oauth`,
    mode: 'local',
    apps: ['a1', 'a2', 'a3'].map((id) => ({
      id,
      provider: upstream.issuer,
      clientId: 'bench-proxy',
      clientSecret: 'bench-proxy-upstream-secret',
      scopes: ['profile'],
    })),
    secret: BENCH_SECRET,
    encryptionKey: BENCH_VAULT_KEY,
    resource: `${base}/local/mcp`, // app routes live at or below their proxy's resource
    consent: { enabled: true },
    registration: { rateLimit: false },
    authorizeRateLimit: { windowMs: 60_000, limit: 1_000_000_000 },
    logger,
    store: localStore,
  });
  route('/local/mcp/a3', local.requireSession({ app: 'a3' }), ok);
  const extraStores = [new MemoryStore({ logger }), new MemoryStore({ logger })];
  const memoryExp = proxy('memory-exp', extraStores[0]!, expiring.issuer);
  const memoryOnce = proxy('memory-once', extraStores[1]!, once.issuer);
  route('/memory-exp/mcp-vault', memoryExp.requireSession(), okWithUpstreamToken);
  route('/memory-once/mcp-vault', memoryOnce.requireSession(), okWithUpstreamToken);
  const extraProxies = [memoryExp, memoryOnce];

  let redisProxy: OAuthProxy | undefined;
  let redisStore: RedisStore | undefined;
  let redisError: string | undefined;
  // A dedicated Redis (bench/growth.ts) gets a fixed prefix and is thrown away whole: no SCAN + DEL of millions of keys.
  const prefix = process.env.BENCH_REDIS_PREFIX ?? `bench-${randomBytes(6).toString('hex')}:`;
  const cleanup = !process.env.BENCH_REDIS_PREFIX;
  const client = createClient({
    url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    socket: { connectTimeout: 2000, reconnectStrategy: false },
  });
  client.on('error', (err: unknown) => {
    redisError ??= err instanceof Error ? err.message : String(err);
  });
  try {
    await client.connect();
    redisStore = new RedisStore({ client, prefix, logger });
    redisProxy = proxy('redis', redisStore);
    route('/redis/mcp', redisProxy.requireSession(), ok);
    route('/redis/mcp-vault', redisProxy.requireSession(), okWithUpstreamToken);
    const redisExp = proxy('redis-exp', redisStore, expiring.issuer);
    const redisOnce = proxy('redis-once', redisStore, once.issuer);
    const redisOnceB = proxy('redis-once', redisStore, once.issuer); // a second instance: same issuer, same Redis
    route('/redis-exp/mcp-vault', redisExp.requireSession(), okWithUpstreamToken);
    route('/redis-once/mcp-vault', redisOnce.requireSession(), okWithUpstreamToken);
    route('/redis-once-b/mcp-vault', redisOnceB.requireSession(), okWithUpstreamToken);
    mount('/redis-exp/oauth', redisExp);
    mount('/redis-once/oauth', redisOnce);
    extraProxies.push(redisExp, redisOnce, redisOnceB);
  } catch (err) {
    redisError = err instanceof Error ? err.message : String(err);
  }

  // The second peer: fastmcp's OAuth proxy on its own server; its authenticate() in front of the same handler here.
  let fastmcp: Awaited<ReturnType<typeof startFastMcp>> | undefined;
  let fastmcpError: string | undefined;
  if (process.env.BENCH_PEERS !== '0') {
    try {
      fastmcp = await startFastMcp(upstream.issuer);
      route('/fastmcp/mcp', fastmcp.auth, ok);
    } catch (err) {
      fastmcpError = err instanceof Error ? err.message : String(err);
    }
  }

  mount('/memory/oauth', memory);
  mount('/local/oauth', local);
  mount('/memory-exp/oauth', memoryExp);
  mount('/memory-once/oauth', memoryOnce);
  if (redisProxy) mount('/redis/oauth', redisProxy);

  let closing = false;
  let profiler: Session | undefined;
  const shutdown = async () => {
    if (closing) return;
    closing = true;
    await memory.close();
    await memoryStore.close();
    await local.close();
    await localStore.close();
    for (const p of extraProxies) await p.close();
    for (const st of extraStores) await st.close();
    if (redisProxy) await redisProxy.close();
    if (redisStore) await redisStore.close();
    if (client.isOpen && !cleanup) await client.close();
    if (client.isOpen) {
      let deleted = 0;
      for await (const batch of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) {
        const keys = (Array.isArray(batch) ? batch : [batch]) as string[];
        if (keys.length) deleted += await client.del(keys);
      }
      await client.close();
      if (process.connected) process.send?.({ type: 'cleaned', redisKeysDeleted: deleted });
    }
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await upstream.close();
    await expiring.close();
    await once.close();
    await fastmcp?.stop().catch(() => {});
    const exit = () => process.exit(0); // writes the --cpu-prof profile, if any
    if (process.connected) process.send!({ type: 'closed', upstreamRequests: upstream.counts, warnings: [...new Set(warnings)] }, exit);
    else exit();
  };
  process.on('message', (m: { type?: string; id?: number }) => {
    if (m?.type === 'shutdown') void shutdown();
    // CPU time this process has used so far (all threads), so bench/run.ts can report CPU per request.
    if (m?.type === 'cpu') {
      const u = process.cpuUsage();
      process.send?.({ type: 'cpu', id: m.id, micros: u.user + u.system });
    }
    // CPU profile of a window only (bench/profile.ts): no start-up or warm-up in it.
    if (m?.type === 'profile-start') {
      profiler = new Session();
      profiler.connect();
      profiler.post('Profiler.enable', () =>
        profiler!.post('Profiler.setSamplingInterval', { interval: 200 }, () =>
          profiler!.post('Profiler.start', () => process.send?.({ type: 'profile-started' })),
        ),
      );
    }
    if (m?.type === 'profile-stop' && profiler) {
      const path = (m as { path?: string }).path!;
      profiler.post('Profiler.stop', (err, result) => {
        if (!err) writeFileSync(path, JSON.stringify(result.profile));
        profiler!.disconnect();
        process.send?.({ type: 'profile-stopped', path, error: err?.message });
      });
    }
  });
  process.on('disconnect', () => void shutdown());

  const issuers = (name: string) => ({
    memory: `${base}/memory${name}/oauth`,
    ...(redisProxy ? { redis: `${base}/redis${name}/oauth` } : {}),
  });
  const ready: ServerReady = {
    type: 'ready',
    base,
    issuers: issuers(''),
    localIssuer: `${base}/local/oauth`,
    refreshIssuers: issuers('-exp'),
    onceIssuers: issuers('-once'),
    ...(redisError ? { redisError } : {}),
    ...(fastmcp ? { fastmcp: fastmcp.base } : {}),
    ...(fastmcpError ? { fastmcpError } : {}),
  };
  process.send?.(ready);
}

main().catch((err: unknown) => {
  console.error('[bench server] failed to start:', err);
  process.exit(1);
});
