import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import http, { type Server } from 'node:http';
import express, { type ErrorRequestHandler, type RequestHandler } from 'express';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { createClient, type RedisClientType } from 'redis';
import { createOAuthProxy, RedisStore, type OAuthProxy, type UpstreamTokens } from '../../lib/index.js';
import { storeNamespace } from '../../lib/stores/namespaced.js';
import { freePort, startTestIdp, type TestIdp } from '../helpers/idp.js';
import { TestBrowser } from '../helpers/browser.js';
import { callTool, connectMcpClient, TestOAuthClientProvider, type ConnectedMcpClient } from '../helpers/mcp.js';
import { TEST_SECRET, TEST_VAULT_KEY, recordingLogger } from '../helpers/proxy.js';
import { uniquePrefix, waitFor } from '../helpers/redis.js';
import { startPersistentRedisServer, type PersistentRedisServer } from '../helpers/redis-persistent.js';

/**
 * Redis fails in the middle of a session, twice: first it freezes (SIGSTOP: the
 * socket stays open, nothing answers), then it crashes (SIGKILL) and restarts
 * from its append-only file. Nothing may be lost, nothing may turn into a 401,
 * and once Redis is back the same tokens work without a new sign-in.
 *
 * The node-redis client is configured as the README recommends: it reconnects
 * by itself (a reconnect strategy that never gives up) and notices a frozen
 * server (PING every 250 ms, socket closed after 1 s without data).
 */

const json = (value: unknown): CallToolResult => ({ content: [{ type: 'text', text: JSON.stringify(value) }] });

/** A tool that waits for the test before it reads the upstream token, so Redis can fail while the call is in flight. */
function heldTool() {
  let entered!: () => void;
  let release!: () => void;
  const state = {
    entered: new Promise<void>((r) => {
      entered = r;
    }),
    released: new Promise<void>((r) => {
      release = r;
    }),
    release: () => release(),
  };
  const register = (server: McpServer) =>
    server.registerTool('held_whoami', { description: 'getToken() once the test says so' }, async (extra) => {
      entered();
      await state.released;
      const upstream = extra.authInfo!.extra!.upstreamTokens as UpstreamTokens;
      try {
        await upstream.getToken();
        return json({ ok: true });
      } catch (err) {
        const e = err as { name: string; code?: string; retryable?: boolean };
        return json({ ok: false, name: e.name, code: e.code, retryable: e.retryable });
      }
    });
  return { state, register };
}

describe('Redis outage in the middle of a session', () => {
  const prefix = uniquePrefix();
  const logs = recordingLogger();
  const held = heldTool();
  const escaped: string[] = [];
  let redis: PersistentRedisServer;
  let client: RedisClientType;
  let store: RedisStore;
  let idp: TestIdp;
  let oauth: OAuthProxy;
  let server: Server;
  let base: string;
  let mcp: ConnectedMcpClient;
  let tokens: { access_token: string; refresh_token?: string };
  const browser = new TestBrowser();

  /** Every key under the prefix with its value (all values the proxy writes are strings). */
  async function snapshot(): Promise<Map<string, string | null>> {
    const out = new Map<string, string | null>();
    for await (const batch of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 }))
      for (const key of batch) out.set(key, await client.get(key));
    return out;
  }
  const bearer = (token: string) =>
    fetch(`${base}/mcp`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
  const refresh = (refreshToken: string) =>
    fetch(`${base}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: refreshToken,
        client_id: mcp.provider.clientInformation()!.client_id,
      }),
    });
  async function expect503Json(res: Response): Promise<void> {
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    expect(await res.json()).toMatchObject({ error: 'temporarily_unavailable' });
  }
  function expect503Page(status: number, headers: Headers, body: string): void {
    expect(status).toBe(503);
    expect(headers.get('retry-after')).toMatch(/^\d+$/);
    expect(headers.get('content-type')).toMatch(/text\/html/);
    expect(body).toContain('Please try again');
    expect(body).toMatch(/retry/i);
  }

  beforeAll(async () => {
    redis = await startPersistentRedisServer();
    client = createClient({
      url: redis.url,
      pingInterval: 250,
      socket: { socketTimeout: 1_000, connectTimeout: 1_000, reconnectStrategy: (retries) => Math.min(50 * 2 ** retries, 500) },
    });
    client.on('error', () => {});
    await client.connect();
    store = new RedisStore({ client, prefix, commandTimeoutMs: 1_000, logger: { warn: () => {}, error: () => {} } });
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    idp = await startTestIdp({ redirectUri: `${base}/oauth/callback` });
    oauth = createOAuthProxy({
      issuer: `${base}/oauth`,
      provider: idp.issuer,
      clientId: idp.clientId,
      clientSecret: idp.clientSecret,
      scopes: ['openid', 'profile', 'offline_access'],
      providerConfig: { id: 'upstream' },
      secret: TEST_SECRET,
      encryptionKey: TEST_VAULT_KEY,
      consent: { enabled: false },
      registration: { rateLimit: false },
      logger: logs.logger,
      store,
    });
    const app = express();
    app.use(oauth.wellKnown);
    app.use('/oauth', oauth);
    const handler: RequestHandler = async (req, res, next) => {
      try {
        const mcpServer = new McpServer({ name: 'outage-test', version: '1.0.0' });
        mcpServer.registerTool('whoami', { description: 'upstream userinfo' }, async (extra) => {
          const token = await (extra.authInfo!.extra!.upstreamTokens as UpstreamTokens).getToken();
          const me = await fetch(`${idp.issuer}/me`, { headers: { authorization: `Bearer ${token}` } });
          return json(await me.json());
        });
        held.register(mcpServer);
        const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
        res.on('close', () => {
          void transport.close();
          void mcpServer.close();
        });
        await mcpServer.connect(transport);
        await transport.handleRequest(req, res, req.body);
      } catch (err) {
        next(err);
      }
    };
    app.all('/mcp', oauth.requireSession(), express.json(), handler);
    // Errors the proxy let escape after it had answered (they would reach Express's final handler, which drops the socket).
    app.use(((err, req, _res, next) => {
      escaped.push(`${req.method} ${req.path}: ${(err as Error)?.name}`);
      next(err);
    }) as ErrorRequestHandler);
    server = http.createServer(app);
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
  });

  afterAll(async () => {
    held.state.release();
    await mcp?.client.close().catch(() => {});
    server?.closeAllConnections();
    await new Promise((r) => (server ? server.close(r) : r(undefined)));
    await oauth?.close();
    await store?.close().catch(() => {});
    client?.destroy();
    await idp?.close();
    await redis?.dispose();
  });

  it('signs in with the MCP SDK client, calls a tool, and ready() reports ok', async () => {
    mcp = await connectMcpClient({ serverUrl: `${base}/mcp`, browser, login: 'alice' });
    tokens = { ...mcp.provider.tokens()! };
    expect((await callTool(mcp.client, 'whoami')).sub).toBe('alice');
    await expect(oauth.ready()).resolves.toEqual({ ready: true, store: 'ok', upstream: 'ok' });
  });

  it('Redis frozen (SIGSTOP): requireSession answers 503, ready() reports the store; after SIGCONT the same token works', async () => {
    const before = await snapshot();
    redis.pause();
    try {
      await waitFor(() => !store.available, 'the client noticed the frozen server');
      const res = await bearer(tokens.access_token);
      expect(res.headers.get('www-authenticate')).toBeNull();
      await expect503Json(res);
      await expect(oauth.ready()).resolves.toEqual({ ready: false, store: 'unavailable', upstream: 'ok' });
    } finally {
      redis.resume();
    }
    await waitFor(() => store.available, 'the client reconnected');
    expect(await snapshot()).toEqual(before);
    expect((await callTool(mcp.client, 'whoami')).sub).toBe('alice');
    expect(mcp.provider.tokens()!.access_token).toBe(tokens.access_token);
  });

  describe('Redis crashed (SIGKILL), then restarted from its append-only file', () => {
    let before: Map<string, string | null>;

    it('a tool call already inside requireSession fails as retryable when it reads the upstream token', async () => {
      const call = callTool(mcp.client, 'held_whoami');
      await held.state.entered;
      before = await snapshot();
      expect([...before.keys()].some((k) => k.startsWith(`${prefix}${storeNamespace(`${base}/oauth`)}vault:`))).toBe(true);
      await redis.crash();
      await waitFor(() => !store.available, 'the client noticed the crash');
      held.state.release();
      await expect(call).resolves.toEqual({
        ok: false,
        name: 'UpstreamUnavailableError',
        code: 'ERR_UPSTREAM_UNAVAILABLE',
        retryable: true,
      });
    });

    it('requireSession answers 503 JSON with Retry-After (never 401), and the SDK client keeps its tokens', async () => {
      await expect503Json(await bearer(tokens.access_token));
      await expect(callTool(mcp.client, 'whoami')).rejects.toMatchObject({
        code: 503,
        message: expect.stringContaining('temporarily_unavailable'),
      });
      expect(mcp.provider.invalidations).toEqual([]);
      expect(mcp.provider.tokens()).toEqual(tokens);
    });

    it('token (refresh) and register answer 503 JSON; authorize and callback answer a 503 page that says to retry', async () => {
      await expect503Json(await refresh(tokens.refresh_token!));
      await expect503Json(
        await fetch(`${base}/oauth/register`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ redirect_uris: ['http://localhost:9999/cb'], token_endpoint_auth_method: 'none' }),
        }),
      );
      const authorize = new URL(`${base}/oauth/authorize`);
      authorize.search = new URLSearchParams({
        client_id: mcp.provider.clientInformation()!.client_id,
        redirect_uri: mcp.provider.redirectUrl,
        response_type: 'code',
        code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
        code_challenge_method: 'S256',
        state: 's',
      }).toString();
      // Without the browser cookie (the endpoint's own store read fails) and with it (express-session's read fails first).
      for (const url of [authorize, new URL(`${base}/oauth/callback?state=abc&code=xyz`)]) {
        const plain = await fetch(url, { redirect: 'manual' });
        expect503Page(plain.status, plain.headers, await plain.text());
        const page = await browser.get(url);
        expect(browser.cookies(url).length).toBeGreaterThan(0);
        expect503Page(page.status, page.headers, page.body);
      }
    });

    it('the process stays up: what needs no store still answers, no error escaped, and ready() reports the store', async () => {
      expect(escaped).toEqual([]);
      const res = await fetch(`${base}/.well-known/oauth-authorization-server/oauth`);
      expect(res.status).toBe(200);
      await expect(oauth.ready()).resolves.toEqual({ ready: false, store: 'unavailable', upstream: 'ok' });
    });

    it('after the restart nothing was deleted, and the same access and refresh tokens work with no new sign-in', async () => {
      const codeGrants = idp.counters.code;
      await redis.restart();
      await waitFor(() => store.available, 'the client reconnected by itself');
      expect(await snapshot()).toEqual(before);
      await expect(oauth.ready()).resolves.toEqual({ ready: true, store: 'ok', upstream: 'ok' });

      expect((await callTool(mcp.client, 'whoami')).sub).toBe('alice');
      expect(mcp.provider.tokens()).toEqual(tokens);

      const res = await refresh(tokens.refresh_token!);
      expect(res.status).toBe(200);
      const next = (await res.json()) as { access_token: string; refresh_token: string };
      expect(next.refresh_token).not.toBe(tokens.refresh_token);
      const provider = new TestOAuthClientProvider({ clientInformation: mcp.provider.clientInformation()! });
      provider.saveTokens({ ...next, token_type: 'Bearer' });
      const again = await connectMcpClient({ serverUrl: `${base}/mcp`, browser, login: 'alice', provider });
      expect(again.callback).toBeNull();
      expect((await callTool(again.client, 'whoami')).sub).toBe('alice');
      await again.client.close();
      expect(idp.counters.code).toBe(codeGrants);
      expect(mcp.provider.authorizationUrls).toHaveLength(1);
    });
  });
});
