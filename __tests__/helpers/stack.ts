import http, { type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { createOAuthProxy, MemoryStore, type OAuthProxy, type OAuthProxyOptions, type Store } from '../../lib/index.js';
import { freePort, startTestIdp, type TestIdp, type TestIdpOptions } from './idp.js';
import { mountMcpServer } from './mcp.js';
import { namespaced, storeNamespace } from '../../lib/stores/namespaced.js';
import { TEST_SECRET, TEST_VAULT_KEY, recordingLogger } from './proxy.js';

/** One proxy instance (its own Express app and server) of a stack. */
export interface Instance {
  oauth: OAuthProxy;
  server: Server;
  url: string;
  /** The store as given to the proxy. */
  store: Store;
  /** The same store as the proxy sees it: under its key namespace (the keys of lib/stores/keys.ts apply). */
  view: Store;
}

/** A running test stack: a real IdP, N proxy instances and (for N > 1) a round-robin balancer in front. */
export interface Stack {
  idp: TestIdp;
  /** The public base URL (the balancer's, or the only instance's). */
  base: string;
  issuer: string;
  mcpUrl: string;
  instances: Instance[];
  logs: ReturnType<typeof recordingLogger>;
  /** Counts requests per instance (balancer only). */
  hits: number[];
  close(): Promise<void>;
}

export interface StackOptions {
  instances?: number;
  /** One store per instance (e.g. RedisStore over separate clients); default: one shared MemoryStore. */
  stores?: () => Store;
  proxy?: Partial<OAuthProxyOptions>;
  idp?: TestIdpOptions;
}

const listen = (server: Server, port = 0) => new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
const closeServer = (server: Server) =>
  new Promise<void>((r) => {
    server.closeAllConnections?.();
    server.close(() => r());
  });

/**
 * Starts the stack the README describes: `app.use(oauth.wellKnown)`,
 * `app.use('/oauth', oauth)`, `app.all('/mcp', oauth.requireSession(), mcp)`
 * with an MCP SDK server whose tools read the upstream token.
 */
export async function startStack(o: StackOptions = {}): Promise<Stack> {
  const n = o.instances ?? 1;
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const issuer = `${base}/oauth`;
  const idp = await startTestIdp({ redirectUri: `${issuer}/callback`, ...o.idp });
  const logs = recordingLogger();
  const shared = new MemoryStore();
  const instances: Instance[] = [];
  for (let i = 0; i < n; i++) {
    const store = o.stores ? o.stores() : shared;
    const oauth = createOAuthProxy({
      issuer,
      provider: idp.issuer,
      clientId: idp.clientId,
      clientSecret: idp.clientSecret,
      scopes: ['openid', 'profile', 'email', 'offline_access'],
      providerConfig: { id: 'upstream' },
      secret: TEST_SECRET,
      encryptionKey: TEST_VAULT_KEY,
      consent: { enabled: false },
      registration: { rateLimit: false },
      logger: logs.logger,
      ...o.proxy,
      store,
    });
    const app = express();
    app.use(oauth.wellKnown);
    app.use('/oauth', oauth);
    mountMcpServer(app, '/mcp', oauth.requireSession(), { userinfoUrl: `${idp.issuer}/me`, providerId: 'upstream' });
    const server = http.createServer(app);
    await listen(server, n === 1 ? port : 0);
    instances.push({
      oauth,
      server,
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      store,
      view: namespaced(store, storeNamespace(issuer)),
    });
  }
  const hits = instances.map(() => 0);
  let balancer: Server | undefined;
  if (n > 1) {
    let next = 0;
    balancer = http.createServer((req, res) => {
      const i = next++ % n;
      hits[i]! += 1;
      const target = new URL(instances[i]!.url);
      const upstream = http.request(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
        (r) => {
          res.writeHead(r.statusCode ?? 502, r.headers);
          r.pipe(res);
        },
      );
      upstream.on('error', () => {
        res.writeHead(502).end();
      });
      req.pipe(upstream);
    });
    await listen(balancer, port);
  }
  return {
    idp,
    base,
    issuer,
    mcpUrl: `${base}/mcp`,
    instances,
    logs,
    hits,
    async close() {
      if (balancer) await closeServer(balancer);
      for (const inst of instances) {
        await closeServer(inst.server);
        await inst.oauth.close();
        if (inst.store !== shared) await inst.store.close?.();
      }
      await shared.close();
      await idp.close();
    },
  };
}
