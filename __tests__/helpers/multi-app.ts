/**
 * Local mode (issue 10) harness: two real oidc-provider IdPs (CRM and ERP, each with its own
 * users and claims, dynamic registration off), one proxy in `mode: 'local'`, and MCP servers on
 * both SDK generations whose tools use each app's upstream token:
 *
 * - `/mcp` and `/mcp/v1`: `requireSession()` (any signed-in session);
 * - `/mcp/erp` and `/mcp/v1/erp`: `requireSession({ app: 'erp' })`.
 *
 * Tools: `session` (getSession: sub, sid, apps, scopes), `crm` and `erp` (the app's userinfo,
 * fetched with its upstream token; an `AuthorizationRequiredError` comes back as an isError result
 * carrying its fields) and `claims` (`upstreamTokens.claims(app)`).
 */
import http, { type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type RequestHandler, type Router } from 'express';
import { McpServer as McpServerV2 } from '@modelcontextprotocol/server';
import { NodeStreamableHTTPServerTransport } from '@modelcontextprotocol/node';
import { McpServer as McpServerV1 } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';
import {
  AuthorizationRequiredError,
  createOAuthProxy,
  getSession,
  type OAuthProxy,
  type OAuthProxyOptions,
  type Store,
} from '../../lib/index.js';
import { freePort, startTestIdp, type TestIdp } from './idp.js';
import { TEST_SECRET, TEST_VAULT_KEY, recordingLogger } from './proxy.js';

export const CRM_USERS = {
  alice: { email: 'alice@crm.example', name: 'Alice (CRM)', department: 'sales-emea' },
  bob: { email: 'bob@crm.example', name: 'Bob (CRM)', department: 'sales-apac' },
};
export const ERP_USERS = {
  'a.liddell': { email: 'a.liddell@erp.example', name: 'A. Liddell (ERP)', roles: ['approver'] },
  'b.builder': { email: 'b.builder@erp.example', name: 'B. Builder (ERP)', roles: ['clerk'] },
};

/** A tool result both SDK generations accept. */
interface TextResult {
  [key: string]: unknown;
  content: Array<{ type: 'text'; text: string }>;
  isError?: boolean;
}
const text = (value: unknown, isError = false): TextResult => ({
  content: [{ type: 'text', text: JSON.stringify(value) }],
  ...(isError ? { isError: true } : {}),
});

type Source = Parameters<typeof getSession>[0];

/** The tools, written once against getSession() so that both SDK generations run the same code. */
function tools(userinfo: Record<string, string>) {
  const appTool = (app: string) => async (source: Source) => {
    const { upstreamTokens } = getSession(source);
    try {
      const token = await upstreamTokens.getToken(app);
      const res = await fetch(userinfo[app]!, { headers: { authorization: `Bearer ${token}` } });
      return text({ status: res.status, userinfo: res.ok ? await res.json() : null });
    } catch (e) {
      if (e instanceof AuthorizationRequiredError)
        return text({ code: e.code, app: e.app, scope: e.scope, authorizeUrl: e.authorizeUrl, retryable: e.retryable }, true);
      throw e;
    }
  };
  return {
    session: async (source: Source) => {
      const { sub, sid, apps, scopes, claims } = getSession(source);
      return text({ sub, sid, apps, scopes, claims });
    },
    crm: appTool('crm'),
    erp: appTool('erp'),
    app: (source: Source, app: string) => appTool(app)(source),
    claims: async (source: Source, app: string) => {
      try {
        return text(await getSession(source).upstreamTokens.claims(app));
      } catch (e) {
        if (e instanceof AuthorizationRequiredError) return text({ code: e.code, app: e.app }, true);
        throw e;
      }
    },
  };
}

function mountV2(router: Router, path: string, guard: RequestHandler, userinfo: Record<string, string>): void {
  router.all(path, guard, express.json(), async (req, res, next) => {
    try {
      const t = tools(userinfo);
      const server = new McpServerV2({ name: 'multi-app-v2', version: '1.0.0' });
      server.registerTool('session', { description: 'The session' }, (ctx) => t.session(ctx));
      server.registerTool('crm', { description: 'CRM userinfo' }, (ctx) => t.crm(ctx));
      server.registerTool('erp', { description: 'ERP userinfo' }, (ctx) => t.erp(ctx));
      server.registerTool('claims', { description: "An app's claims", inputSchema: z.object({ app: z.string() }) }, (args, ctx) =>
        t.claims(ctx, args.app),
      );
      server.registerTool('app', { description: "Any app's userinfo", inputSchema: z.object({ app: z.string() }) }, (args, ctx) =>
        t.app(ctx, args.app),
      );
      const transport = new NodeStreamableHTTPServerTransport({ sessionIdGenerator: undefined });
      res.on('close', () => void transport.close().then(() => server.close()));
      await server.connect(transport);
      await transport.handleRequest(req, res, req.body);
    } catch (err) {
      next(err);
    }
  });
}

function mountV1(router: Router, path: string, guard: RequestHandler, userinfo: Record<string, string>): void {
  router.all(path, guard, express.json(), async (req, res, next) => {
    try {
      const t = tools(userinfo);
      const server = new McpServerV1({ name: 'multi-app-v1', version: '1.0.0' });
      server.registerTool('session', { description: 'The session' }, (extra) => t.session(extra));
      server.registerTool('crm', { description: 'CRM userinfo' }, (extra) => t.crm(extra));
      server.registerTool('erp', { description: 'ERP userinfo' }, (extra) => t.erp(extra));
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
      res.on('close', () => void transport.close().then(() => server.close()));
      await server.connect(transport);
      await transport.handleRequest(req, res, req.body);
    } catch (err) {
      next(err);
    }
  });
}

export interface MultiAppStack {
  base: string;
  issuer: string;
  crm: TestIdp;
  erp: TestIdp;
  oauth: OAuthProxy;
  /** Both proxy instances (one unless `instances: 2`); the front port forwards to `instances[target]`. */
  instances: OAuthProxy[];
  target: { index: number };
  log: ReturnType<typeof recordingLogger>;
  close(): Promise<void>;
}

/** The local-mode options of the stack (two apps; CRM required; progressive authorization and consent on). */
export function multiAppOptions(base: string, crm: TestIdp, erp: TestIdp): OAuthProxyOptions {
  return {
    issuer: `${base}/oauth`,
    mode: 'local',
    apps: [
      {
        id: 'crm',
        name: 'CRM',
        description: 'Customers and deals',
        provider: crm.issuer,
        clientId: crm.clientId,
        clientSecret: crm.clientSecret,
        scopes: ['openid', 'profile', 'email', 'offline_access'],
        required: true,
      },
      {
        id: 'erp',
        name: 'ERP',
        description: 'Orders and invoices',
        provider: erp.issuer,
        clientId: erp.clientId,
        clientSecret: erp.clientSecret,
        scopes: ['openid', 'profile', 'offline_access'],
      },
    ],
    incrementalAuth: { enabled: true },
    consent: { enabled: true },
    secret: TEST_SECRET,
    encryptionKey: TEST_VAULT_KEY,
    registration: { rateLimit: false },
    authorizeRateLimit: false,
  };
}

/**
 * Starts the CRM and ERP IdPs (ERP on 127.0.0.2, so that the two IdPs' cookies never meet) and
 * `instances` proxies (same issuer and store) behind one front port, which forwards every request
 * to `target.index`. See {@link MultiAppStack}.
 */
export async function startMultiAppStack(
  o: {
    store?: () => Store;
    instances?: number;
    options?: (base: string, crm: TestIdp, erp: TestIdp) => Partial<OAuthProxyOptions>;
    userinfo?: Record<string, string>;
  } = {},
): Promise<MultiAppStack> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const callback = `${base}/oauth/callback`;
  const crm = await startTestIdp({ redirectUri: callback, clientId: 'mcp-crm', users: CRM_USERS });
  const erp = await startTestIdp({ redirectUri: callback, clientId: 'mcp-erp', users: ERP_USERS, host: '127.0.0.2' });
  const log = recordingLogger();
  const userinfo = { crm: `${crm.issuer}/me`, erp: `${erp.issuer}/me`, ...o.userinfo };
  const instances: OAuthProxy[] = [];
  const backends: Server[] = [];
  for (let i = 0; i < (o.instances ?? 1); i++) {
    const options = {
      ...multiAppOptions(base, crm, erp),
      logger: log.logger,
      ...(o.store ? { store: o.store() } : {}),
      ...o.options?.(base, crm, erp),
    } as OAuthProxyOptions;
    const oauth = createOAuthProxy(options);
    const app = express();
    app.use(oauth.wellKnown);
    app.use('/oauth', oauth);
    const router = express.Router();
    if (options.apps?.some((a) => a.id === 'erp')) {
      mountV2(router, '/mcp/erp', oauth.requireSession({ app: 'erp' }), userinfo);
      mountV1(router, '/mcp/v1/erp', oauth.requireSession({ app: 'erp' }), userinfo);
    }
    mountV1(router, '/mcp/v1', oauth.requireSession(), userinfo);
    mountV2(router, '/mcp', oauth.requireSession(), userinfo);
    app.use(router);
    const server = http.createServer(app);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    instances.push(oauth);
    backends.push(server);
  }
  const target = { index: 0 };
  const front = http.createServer((req, res) => {
    const to = backends[target.index]!.address() as AddressInfo;
    const fwd = http.request({ host: '127.0.0.1', port: to.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    fwd.on('error', () => res.destroy());
    req.pipe(fwd);
  });
  await new Promise<void>((r) => front.listen(port, '127.0.0.1', () => r()));
  return {
    base,
    issuer: `${base}/oauth`,
    crm,
    erp,
    oauth: instances[0]!,
    instances,
    target,
    log,
    close: async () => {
      for (const s of [front, ...backends]) {
        s.closeAllConnections();
        await new Promise<void>((r) => s.close(() => r()));
      }
      for (const oauth of instances) await oauth.close();
      await crm.close();
      await erp.close();
    },
  };
}
