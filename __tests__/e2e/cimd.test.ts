import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import http, { type Server } from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { TestBrowser } from '../helpers/browser.js';
import { proxyApp } from '../helpers/proxy.js';
import { callTool, connectMcpClient, TestOAuthClientProvider } from '../helpers/mcp.js';
import { authorizeUrl, exchangeCode, pkce, watchRequests } from '../helpers/oauth-flow.js';

/**
 * Client ID Metadata Documents (MCP 2025-11-25), end to end: no registration;
 * the client_id is the URL of a JSON document a real local http server serves.
 * The proxy fetches, validates and shows the document's domain on the consent
 * page, then the usual sign-in at the real IdP, token exchange and a tool call.
 */

interface DocServer {
  base: string;
  port: number;
  hits: Map<string, number>;
  serve(path: string, doc: unknown): void;
  close(): Promise<void>;
}

async function startDocServer(): Promise<DocServer> {
  const docs = new Map<string, string>();
  const hits = new Map<string, number>();
  const server: Server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const body = docs.get(path);
    if (body === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=60' }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    port,
    hits,
    serve: (path, doc) => {
      docs.set(path, JSON.stringify(doc));
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

const REDIRECT = 'http://localhost:38123/callback';
const atRedirect = (u: URL) => u.href.startsWith(REDIRECT);

describe('a CIMD client on a loopback document (test-only allowance)', () => {
  let stack: Stack;
  let docs: DocServer;
  beforeAll(async () => {
    docs = await startDocServer();
    stack = await startStack({ proxy: { consent: { enabled: true }, clientMetadataDocuments: { allowPrivateAddresses: true } } });
  });
  afterAll(async () => {
    await stack.close();
    await docs.close();
  });

  it('signs in end to end: verified domain on the consent page, code, token with the URL client_id, tool call', async () => {
    const clientId = `${docs.base}/clients/app.json`;
    docs.serve('/clients/app.json', {
      client_id: clientId,
      client_name: 'Doc Client',
      redirect_uris: [REDIRECT],
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
    });
    const { challenge, verifier } = pkce();
    const browser = new TestBrowser();
    const consent = await browser.get(authorizeUrl(stack.issuer, { clientId, redirectUri: REDIRECT, challenge, state: 'cimd-1' }));
    expect(consent.status).toBe(200);
    expect(consent.body).toContain(`Verified domain: 127.0.0.1:${docs.port}`);
    expect(consent.body).not.toContain('badge unverified');
    expect(docs.hits.get('/clients/app.json')).toBe(1);

    const approved = await browser.submitForm(
      consent.url,
      consent.body,
      {},
      { submitter: { name: 'decision', value: 'approve' }, stopAt: (u) => u.origin === stack.idp.issuer },
    );
    expect(approved.stoppedAt).toBeDefined();
    const { url } = await browser.authorize(approved.stoppedAt!, { login: 'alice', stopAt: atRedirect });
    expect(url.searchParams.get('state')).toBe('cimd-1');
    expect(url.searchParams.get('iss')).toBe(stack.issuer);
    const token = await exchangeCode(stack.issuer, { clientId, code: url.searchParams.get('code')!, verifier, redirectUri: REDIRECT });
    expect(token.status).toBe(200);

    const transport = new StreamableHTTPClientTransport(new URL(stack.mcpUrl), {
      requestInit: { headers: { authorization: `Bearer ${token.body.access_token}` } },
    });
    const client = new Client({ name: 'cimd-test', version: '1.0.0' });
    await client.connect(transport);
    try {
      expect((await callTool(client, 'whoami')).sub).toBe('alice');
      expect((await callTool(client, 'claims')).clientId).toBe(clientId);
    } finally {
      await client.close();
    }
    expect(docs.hits.get('/clients/app.json')).toBe(1); // cached per its Cache-Control
  });

  it('a document whose client_id is not its own URL gets an error page, and the IdP is not contacted', async () => {
    const clientId = `${docs.base}/clients/liar.json`;
    docs.serve('/clients/liar.json', {
      client_id: 'https://claude.ai/clients/app.json',
      client_name: 'Liar',
      redirect_uris: [REDIRECT],
      token_endpoint_auth_method: 'none',
    });
    const watch = watchRequests(Number(new URL(stack.idp.issuer).port));
    try {
      const page = await new TestBrowser().get(
        authorizeUrl(stack.issuer, { clientId, redirectUri: REDIRECT, challenge: pkce().challenge }),
        { stopAt: atRedirect },
      );
      expect(page.stoppedAt).toBeUndefined();
      expect(page.status).toBe(401);
      expect(page.body).toContain('must be identical to the URL');
      expect(page.headers.get('x-frame-options')).toBe('DENY');
      expect(docs.hits.get('/clients/liar.json')).toBe(1);
      expect(watch.requests).toEqual([]);
    } finally {
      watch.stop();
    }
  });

  it('a document listing a refused redirect URI gets an error page', async () => {
    const clientId = `${docs.base}/clients/bad-redirect.json`;
    docs.serve('/clients/bad-redirect.json', {
      client_id: clientId,
      redirect_uris: ['javascript:alert(1)'],
      token_endpoint_auth_method: 'none',
    });
    const page = await new TestBrowser().get(authorizeUrl(stack.issuer, { clientId, challenge: pkce().challenge }));
    expect(page.status).toBe(401);
    expect(page.body).toContain('refused scheme');
  });
});

describe('the official SDK client with clientMetadataUrl', () => {
  // The SDK only sends https client_id URLs, and tests may not use public DNS or TLS: the proxy's
  // injected `fetch` maps the reserved name mcp-client.test onto the local document server (the
  // document is still served over real HTTP); every other request goes to the real network stack.
  const CIMD_URL = 'https://mcp-client.test/oauth/client.json';
  let stack: Stack;
  let docs: DocServer;
  beforeAll(async () => {
    docs = await startDocServer();
    const realFetch = globalThis.fetch;
    const fetchVia: typeof fetch = (input, init) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      return url.hostname === 'mcp-client.test' ? realFetch(`${docs.base}${url.pathname}${url.search}`, init) : realFetch(input, init);
    };
    stack = await startStack({ proxy: { consent: { enabled: true }, fetch: fetchVia } });
  });
  afterAll(async () => {
    await stack.close();
    await docs.close();
  });

  class CimdProvider extends TestOAuthClientProvider {
    readonly clientMetadataUrl = CIMD_URL;
  }

  it('uses the URL as client_id (no registration), signs in and calls a tool', async () => {
    docs.serve('/oauth/client.json', {
      client_id: CIMD_URL,
      client_name: 'SDK CIMD client',
      redirect_uris: [REDIRECT],
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
    });
    const provider = new CimdProvider({ redirectUrl: REDIRECT });
    const { client, steps } = await connectMcpClient({ serverUrl: stack.mcpUrl, browser: new TestBrowser(), login: 'bob', provider });
    try {
      expect(provider.clientInformation()?.client_id).toBe(CIMD_URL);
      expect(provider.lastAuthorizationUrl?.searchParams.get('client_id')).toBe(CIMD_URL);
      expect(steps.some((s) => /POST .*\/oauth\/consent → 303/.test(s))).toBe(true);
      expect(stack.logs.lines.some((l) => l.msg === 'client registered')).toBe(false);
      expect((await callTool(client, 'whoami')).sub).toBe('bob');
      expect((await callTool(client, 'claims')).clientId).toBe(CIMD_URL);
      expect(docs.hits.get('/oauth/client.json')).toBeGreaterThanOrEqual(1);
    } finally {
      await client.close();
    }
  });
});

describe('CIMD URLs on private addresses are refused without a connection (default policy)', () => {
  const { app, oauth } = proxyApp({ consent: { enabled: true } });
  let connections = 0;
  const listeners: net.Server[] = [];
  let port = 0;
  beforeAll(async () => {
    const v4 = net.createServer((s) => {
      connections += 1;
      s.destroy();
    });
    await new Promise<void>((r) => v4.listen(0, '127.0.0.1', () => r()));
    listeners.push(v4);
    port = (v4.address() as AddressInfo).port;
    // Also watch [::1] on the same port when this host has IPv6 loopback ("localhost" may resolve to it).
    const v6 = net.createServer((s) => {
      connections += 1;
      s.destroy();
    });
    const onV6 = await new Promise<boolean>((r) => {
      v6.once('error', () => r(false));
      v6.listen(port, '::1', () => r(true));
    });
    if (onV6) listeners.push(v6);
  });
  afterAll(async () => {
    await Promise.all(listeners.map((l) => new Promise<void>((r) => l.close(() => r()))));
    await oauth.close();
  });

  const authorize = (clientId: string) =>
    request(app).get('/oauth/authorize').query({
      response_type: 'code',
      client_id: clientId,
      redirect_uri: REDIRECT,
      code_challenge: pkce().challenge,
      code_challenge_method: 'S256',
    });

  it.each([
    ['an IPv4 loopback literal', (p: number) => `https://127.0.0.1:${p}/clients/app.json`, 'could not be fetched'],
    ['an IPv6 loopback literal', (p: number) => `https://[::1]:${p}/clients/app.json`, 'could not be fetched'],
    ['a hostname that resolves to loopback', (p: number) => `https://localhost:${p}/clients/app.json`, 'could not be fetched'],
    ['loopback http (only with the test allowance)', (p: number) => `http://127.0.0.1:${p}/clients/app.json`, 'Unknown client_id'],
  ])('%s', async (_name, make, message) => {
    const res = await authorize(make(port));
    expect([400, 401]).toContain(res.status);
    expect(res.headers['content-type']).toMatch(/text\/html/);
    expect(res.headers.location).toBeUndefined();
    expect(res.text).toContain(message);
    // Issue 12, finding 5: no DNS or port oracle: neither what the host resolves to nor a socket error code.
    expect(res.text).not.toMatch(/resolves to|not a public address|\bE[A-Z]{4,}\b/);
    expect(connections).toBe(0);
  });

  it('(control) the same listener does see the fetch once the test-only allowance is on', async () => {
    const { app: open, oauth: o2 } = proxyApp({ consent: { enabled: true }, clientMetadataDocuments: { allowPrivateAddresses: true } });
    try {
      const res = await request(open)
        .get('/oauth/authorize')
        .query({
          response_type: 'code',
          client_id: `https://127.0.0.1:${port}/clients/app.json`,
          redirect_uri: REDIRECT,
          code_challenge: pkce().challenge,
          code_challenge_method: 'S256',
        });
      expect(res.status).toBe(401);
      expect(res.text).toContain('could not be fetched');
      expect(res.text).not.toMatch(/\bE[A-Z]{4,}\b|certificate/);
      expect(connections).toBe(1);
    } finally {
      await o2.close();
    }
  });
});
