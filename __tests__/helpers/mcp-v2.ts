/**
 * MCP SDK v2 harness: a stateless MCP server on @modelcontextprotocol/server + /node whose tools
 * read the session with getSession(ctx) (ctx.http.authInfo), and the @modelcontextprotocol/client
 * flow driven through a test browser. Same tools and same answers as the v1 harness in mcp.ts.
 */
import express, { type Express, type RequestHandler, type Router } from 'express';
import { McpServer, type CallToolResult } from '@modelcontextprotocol/server';
import { NodeStreamableHTTPServerTransport } from '@modelcontextprotocol/node';
import { Client, StreamableHTTPClientTransport, UnauthorizedError, type OAuthClientProvider } from '@modelcontextprotocol/client';
import { getSession } from '../../lib/index.js';
import type { TestBrowser } from './browser.js';
import { TestOAuthClientProvider, type AuthorizationCallback } from './mcp.js';

const text = (value: unknown, isError = false): CallToolResult => ({
  content: [{ type: 'text', text: typeof value === 'string' ? value : JSON.stringify(value) }],
  ...(isError ? { isError: true } : {}),
});

function buildServerV2(options: { userinfoUrl: string }): McpServer {
  const server = new McpServer({ name: 'test-mcp-server-v2', version: '1.0.0' });
  server.registerTool('whoami', { description: 'Userinfo from the upstream IdP, fetched with the upstream access token' }, async (ctx) => {
    const { upstreamTokens } = getSession(ctx);
    const token = await upstreamTokens.getToken();
    const res = await fetch(options.userinfoUrl, { headers: { authorization: `Bearer ${token}` } });
    if (!res.ok) return text(`userinfo failed with HTTP ${res.status}`, true);
    return text(await res.json());
  });
  server.registerTool('claims', { description: 'What the proxy put in authInfo (never the token)' }, async (ctx) => {
    const { sub, sid, claims, clientId, scopes } = getSession(ctx);
    return text({ sub, sid, claims, clientId, scopes, sdk: 'v2' });
  });
  return server;
}

/** Mounts a stateless v2 MCP endpoint: `app.all(path, middleware, express.json(), handler)`. */
export function mountMcpServerV2(app: Express | Router, path: string, middleware: RequestHandler, options: { userinfoUrl: string }): void {
  const handler: RequestHandler = async (req, res, next) => {
    try {
      const server = buildServerV2(options);
      const transport = new NodeStreamableHTTPServerTransport({ sessionIdGenerator: undefined });
      res.on('close', () => {
        void transport.close();
        void server.close();
      });
      await server.connect(transport);
      await transport.handleRequest(req, res, req.body);
    } catch (err) {
      next(err);
    }
  };
  (app as Router).all(path, middleware, express.json(), handler);
}

export interface ConnectedV2Client {
  client: Client;
  transport: StreamableHTTPClientTransport;
  provider: TestOAuthClientProvider;
  callback: AuthorizationCallback | null;
}

/** The v2 client's own provider contract is the v1 one plus optional members: the same test provider serves both. */
const asV2 = (p: TestOAuthClientProvider) => p as unknown as OAuthClientProvider;

/**
 * The v2 SDK's flow: connect → 401 → browser authorization → finishAuth(code, iss) → connect again.
 * Version negotiation `auto` (probe for 2026-07-28, fall back to 2025) unless told `legacy`.
 */
export async function connectV2Client(options: {
  serverUrl: string;
  browser: TestBrowser;
  login: string;
  provider?: TestOAuthClientProvider;
  negotiation?: 'auto' | 'legacy';
}): Promise<ConnectedV2Client> {
  const provider = options.provider ?? new TestOAuthClientProvider();
  const newClient = () =>
    new Client(
      { name: 'mcp-oauth-proxy-test-client-v2', version: '1.0.0' },
      { versionNegotiation: { mode: options.negotiation ?? 'auto' } },
    );
  const first = new StreamableHTTPClientTransport(new URL(options.serverUrl), { authProvider: asV2(provider) });
  try {
    const client = newClient();
    await client.connect(first);
    return { client, transport: first, provider, callback: null };
  } catch (err) {
    if (!(err instanceof UnauthorizedError)) throw err;
  }
  const callback = await completeAuthorization(provider, options.browser, options.login);
  await first.finishAuth(callback.code!, callback.iss ?? undefined);
  await first.close();
  const transport = new StreamableHTTPClientTransport(new URL(options.serverUrl), { authProvider: asV2(provider) });
  const client = newClient();
  await client.connect(transport);
  return { client, transport, provider, callback };
}

/** Runs the provider's last authorization URL through the browser and returns what reached the redirect URI. */
export async function completeAuthorization(
  provider: TestOAuthClientProvider,
  browser: TestBrowser,
  login: string,
): Promise<AuthorizationCallback> {
  const authUrl = provider.lastAuthorizationUrl;
  if (!authUrl) throw new Error('the SDK did not start an authorization');
  const { url } = await browser.authorize(authUrl, { login, stopAt: (u) => u.href.startsWith(provider.redirectUrl) });
  const p = url.searchParams;
  const callback: AuthorizationCallback = { url, code: p.get('code'), state: p.get('state'), iss: p.get('iss'), error: p.get('error') };
  if (callback.error || !callback.code)
    throw new Error(`authorization failed: ${callback.error ?? 'no code'} ${p.get('error_description') ?? ''}`);
  return callback;
}

/** Calls a tool on a v2 client and returns its text content parsed as JSON. Throws on isError. */
export async function callToolV2<T = any>(client: Client, name: string): Promise<T> {
  const result = (await client.callTool({ name, arguments: {} })) as CallToolResult;
  const first = result.content?.[0];
  const body = first && first.type === 'text' ? first.text : '';
  if (result.isError) throw new Error(`tool ${name} failed: ${body}`);
  try {
    return JSON.parse(body) as T;
  } catch {
    return body as T;
  }
}
