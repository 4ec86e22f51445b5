/**
 * MCP SDK harness: a stateless MCP server with `whoami`/`claims` tools behind the proxy's
 * middleware, and an in-memory OAuth client that runs the SDK's own authorization flow.
 */
import { randomBytes } from 'node:crypto';
import express, { type Express, type RequestHandler, type Router } from 'express';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { UnauthorizedError, type OAuthClientProvider, type OAuthDiscoveryState } from '@modelcontextprotocol/sdk/client/auth.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { OAuthClientInformationMixed, OAuthClientMetadata, OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js';
import type { CallToolResult, ServerNotification, ServerRequest } from '@modelcontextprotocol/sdk/types.js';
import type { TestBrowser } from './browser.js';

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;
interface UpstreamTokens {
  getToken(providerId: string): Promise<string>;
}

const text = (value: unknown, isError = false): CallToolResult => ({
  content: [{ type: 'text', text: typeof value === 'string' ? value : JSON.stringify(value) }],
  ...(isError ? { isError: true } : {}),
});

function buildServer(options: { userinfoUrl: string; providerId?: string }): McpServer {
  const server = new McpServer({ name: 'test-mcp-server', version: '1.0.0' });
  server.registerTool(
    'whoami',
    { description: 'Userinfo from the upstream IdP, fetched with the upstream access token' },
    async (extra: Extra) => {
      const upstream = extra.authInfo?.extra?.upstreamTokens as UpstreamTokens | undefined;
      if (!upstream) return text('no upstreamTokens on authInfo.extra', true);
      const token = await upstream.getToken(options.providerId ?? 'upstream');
      const res = await fetch(options.userinfoUrl, { headers: { authorization: `Bearer ${token}` } });
      if (!res.ok) return text(`userinfo failed with HTTP ${res.status}`, true);
      return text(await res.json());
    },
  );
  server.registerTool('claims', { description: 'What the proxy put in authInfo (never the token)' }, async (extra: Extra) => {
    const auth = extra.authInfo;
    const more = (auth?.extra ?? {}) as Record<string, unknown>;
    return text({ sub: more.sub, sid: more.sid, claims: more.claims, clientId: auth?.clientId, scopes: auth?.scopes });
  });
  return server;
}

/** Mounts a stateless MCP endpoint: `app.all(path, middleware, express.json(), handler)`. */
export function mountMcpServer(
  app: Express | Router,
  path: string,
  middleware: RequestHandler,
  options: { userinfoUrl: string; providerId?: string },
): void {
  const handler: RequestHandler = async (req, res, next) => {
    try {
      const server = buildServer(options);
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
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

export interface TestOAuthClientProviderOptions {
  /** Default `http://localhost:<random port>/callback`; nothing listens there. */
  redirectUrl?: string;
  tokenEndpointAuthMethod?: 'none' | 'client_secret_post' | 'client_secret_basic';
  clientName?: string;
  scope?: string;
  /** Pre-registered client information (skips dynamic registration). */
  clientInformation?: OAuthClientInformationMixed;
}

/** In-memory OAuthClientProvider; records what the SDK asked it to do. */
export class TestOAuthClientProvider implements OAuthClientProvider {
  readonly redirectUrl: string;
  readonly #metadata: OAuthClientMetadata;
  #client: OAuthClientInformationMixed | undefined;
  #tokens: OAuthTokens | undefined;
  #verifier: string | undefined;
  #discovery: OAuthDiscoveryState | undefined;
  lastAuthorizationUrl: URL | undefined;
  lastState: string | undefined;
  readonly authorizationUrls: URL[] = [];
  readonly savedTokens: OAuthTokens[] = [];
  readonly invalidations: string[] = [];

  constructor(options: TestOAuthClientProviderOptions = {}) {
    this.redirectUrl = options.redirectUrl ?? `http://localhost:${20000 + Math.floor(Math.random() * 40000)}/callback`;
    this.#client = options.clientInformation;
    this.#metadata = {
      client_name: options.clientName ?? 'mcp-oauth-proxy test client',
      redirect_uris: [this.redirectUrl],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: options.tokenEndpointAuthMethod ?? 'none',
      ...(options.scope ? { scope: options.scope } : {}),
    };
  }

  get clientMetadata(): OAuthClientMetadata {
    return this.#metadata;
  }
  state(): string {
    this.lastState = randomBytes(16).toString('base64url');
    return this.lastState;
  }
  clientInformation(): OAuthClientInformationMixed | undefined {
    return this.#client;
  }
  saveClientInformation(info: OAuthClientInformationMixed): void {
    this.#client = info;
  }
  tokens(): OAuthTokens | undefined {
    return this.#tokens;
  }
  saveTokens(tokens: OAuthTokens): void {
    this.#tokens = tokens;
    this.savedTokens.push(tokens);
  }
  redirectToAuthorization(url: URL): void {
    this.lastAuthorizationUrl = url;
    this.authorizationUrls.push(url);
  }
  saveCodeVerifier(verifier: string): void {
    this.#verifier = verifier;
  }
  codeVerifier(): string {
    if (!this.#verifier) throw new Error('no code verifier saved');
    return this.#verifier;
  }
  saveDiscoveryState(state: OAuthDiscoveryState): void {
    this.#discovery = state;
  }
  discoveryState(): OAuthDiscoveryState | undefined {
    return this.#discovery;
  }
  invalidateCredentials(scope: 'all' | 'client' | 'tokens' | 'verifier' | 'discovery'): void {
    this.invalidations.push(scope);
    if (scope === 'all' || scope === 'client') this.#client = undefined;
    if (scope === 'all' || scope === 'tokens') this.#tokens = undefined;
    if (scope === 'all' || scope === 'verifier') this.#verifier = undefined;
    if (scope === 'all' || scope === 'discovery') this.#discovery = undefined;
  }
}

/** What came back on the MCP client's redirect URI. */
export interface AuthorizationCallback {
  url: URL;
  code: string | null;
  state: string | null;
  iss: string | null;
  error: string | null;
}

/** Thrown by connectMcpClient when the redirect carries `error` (e.g. consent denied). */
export class AuthorizationCallbackError extends Error {
  constructor(
    readonly error: string,
    readonly errorDescription: string | null,
    readonly callback: AuthorizationCallback,
  ) {
    super(`authorization failed: ${error}${errorDescription ? ` (${errorDescription})` : ''}`);
    this.name = 'AuthorizationCallbackError';
  }
}

export interface ConnectedMcpClient {
  client: Client;
  transport: StreamableHTTPClientTransport;
  provider: TestOAuthClientProvider;
  /** Null when the provider already held valid tokens. */
  callback: AuthorizationCallback | null;
  steps: string[];
}

async function tryConnect(serverUrl: string, provider: TestOAuthClientProvider) {
  const transport = new StreamableHTTPClientTransport(new URL(serverUrl), { authProvider: provider });
  const client = new Client({ name: 'mcp-oauth-proxy-test-client', version: '1.0.0' });
  await client.connect(transport);
  return { client, transport };
}

/** The SDK's flow: connect → 401 → browser authorization → finishAuth(code) → connect again. */
export async function connectMcpClient(options: {
  serverUrl: string;
  browser: TestBrowser;
  login: string;
  provider?: TestOAuthClientProvider;
  consent?: 'approve' | 'deny';
}): Promise<ConnectedMcpClient> {
  const provider = options.provider ?? new TestOAuthClientProvider();
  const transport = new StreamableHTTPClientTransport(new URL(options.serverUrl), { authProvider: provider });
  try {
    const client = new Client({ name: 'mcp-oauth-proxy-test-client', version: '1.0.0' });
    await client.connect(transport);
    return { client, transport, provider, callback: null, steps: [] };
  } catch (err) {
    if (!(err instanceof UnauthorizedError)) throw err;
  }
  const authUrl = provider.lastAuthorizationUrl;
  if (!authUrl) throw new Error('connectMcpClient: the SDK did not start an authorization');
  const redirect = provider.redirectUrl;
  const { url, steps } = await options.browser.authorize(authUrl, {
    login: options.login,
    ...(options.consent ? { consent: options.consent } : {}),
    stopAt: (u) => u.href.startsWith(redirect),
  });
  const p = url.searchParams;
  const callback: AuthorizationCallback = { url, code: p.get('code'), state: p.get('state'), iss: p.get('iss'), error: p.get('error') };
  if (callback.error || !callback.code) {
    throw new AuthorizationCallbackError(callback.error ?? 'missing_code', p.get('error_description'), callback);
  }
  await transport.finishAuth(callback.code);
  await transport.close();
  const connected = await tryConnect(options.serverUrl, provider);
  return { ...connected, provider, callback, steps };
}

/** Calls a tool and returns its text content parsed as JSON (or the raw text). Throws on isError. */
export async function callTool<T = any>(client: Client, name: string, args: Record<string, unknown> = {}): Promise<T> {
  const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
  const first = result.content?.[0];
  const body = first && first.type === 'text' ? first.text : '';
  if (result.isError) throw new Error(`tool ${name} failed: ${body}`);
  try {
    return JSON.parse(body) as T;
  } catch {
    return body as T;
  }
}
