import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import http, { type Server } from 'node:http';
import express from 'express';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { auth as authV1 } from '@modelcontextprotocol/sdk/client/auth.js';
import { StreamableHTTPClientTransport as TransportV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  Client as ClientV2,
  StreamableHTTPClientTransport as TransportV2,
  UnauthorizedError as UnauthorizedV2,
  type OAuthClientProvider as ProviderV2,
} from '@modelcontextprotocol/client';
import { createOAuthProxy, type OAuthProxy } from '../../lib/index.js';
import { freePort, startTestIdp, type TestIdp } from '../helpers/idp.js';
import { TEST_SECRET, TEST_VAULT_KEY, recordingLogger } from '../helpers/proxy.js';
import { TestBrowser } from '../helpers/browser.js';
import { callTool, connectMcpClient, mountMcpServer, TestOAuthClientProvider } from '../helpers/mcp.js';
import { callToolV2, completeAuthorization, connectV2Client, mountMcpServerV2 } from '../helpers/mcp-v2.js';

/**
 * Both MCP SDK generations, first-class: the v1 client (@modelcontextprotocol/sdk 1.x) and the
 * v2 client (@modelcontextprotocol/client 2.x), each against a v1 server and a v2 server
 * (@modelcontextprotocol/server + /node, tools reading the session with getSession(ctx)), through
 * the proxy, consent page and a real oidc-provider IdP: sign in, a tool call that uses the
 * upstream token, refresh after the proxy's token expired, and scope step-up on a route that
 * needs requireSession({ scopes: ['email'] }).
 */
const ACCESS_TTL = 60;
let idp: TestIdp;
let server: Server;
let oauth: OAuthProxy;
let base: string;
const skew = { ms: 0 };

beforeAll(async () => {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  idp = await startTestIdp({ redirectUri: `${base}/oauth/callback` });
  oauth = createOAuthProxy({
    issuer: `${base}/oauth`,
    provider: idp.issuer,
    clientId: idp.clientId,
    clientSecret: idp.clientSecret,
    scopes: ['openid', 'profile', 'email', 'offline_access'],
    providerConfig: { id: 'upstream' },
    secret: TEST_SECRET,
    encryptionKey: TEST_VAULT_KEY,
    registration: { rateLimit: false },
    accessTokenTtl: ACCESS_TTL,
    clock: () => Date.now() + skew.ms,
    logger: recordingLogger().logger,
  });
  const app = express();
  app.use(oauth.wellKnown);
  app.use('/oauth', oauth);
  const userinfoUrl = `${idp.issuer}/me`;
  for (const [sdk, mount] of [
    ['v1', mountMcpServer],
    ['v2', mountMcpServerV2],
  ] as const) {
    mount(app, `/mcp/${sdk}/openid`, oauth.requireSession({ scopes: ['openid'] }), { userinfoUrl });
    mount(app, `/mcp/${sdk}/email`, oauth.requireSession({ scopes: ['email'] }), { userinfoUrl });
    mount(app, `/mcp/${sdk}`, oauth.requireSession(), { userinfoUrl });
  }
  server = http.createServer(app);
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  await oauth.close();
  await idp.close();
});

type Sdk = 'v1' | 'v2';
interface Connected {
  call(name: string): Promise<any>;
  close(): Promise<void>;
  provider: TestOAuthClientProvider;
}

async function connect(clientSdk: Sdk, url: string, browser: TestBrowser, provider = new TestOAuthClientProvider()): Promise<Connected> {
  if (clientSdk === 'v1') {
    const { client } = await connectMcpClient({ serverUrl: url, browser, login: 'alice', provider });
    return { call: (n) => callTool(client, n), close: () => client.close(), provider };
  }
  const { client } = await connectV2Client({ serverUrl: url, browser, login: 'alice', provider });
  return { call: (n) => callToolV2(client, n), close: () => client.close(), provider };
}

const matrix: Array<[Sdk, Sdk]> = [
  ['v1', 'v1'],
  ['v1', 'v2'],
  ['v2', 'v1'],
  ['v2', 'v2'],
];

describe.each(matrix)('%s client against a %s server', (clientSdk, serverSdk) => {
  it('signs in (consent, IdP, callback) and a tool reads the session and calls the upstream', async () => {
    const c = await connect(clientSdk, `${base}/mcp/${serverSdk}`, new TestBrowser());
    expect((await c.call('whoami')).sub).toBe('alice');
    const info = await c.call('claims');
    expect(info).toMatchObject({ sub: 'alice', claims: { sub: 'alice' }, clientId: c.provider.clientInformation()!.client_id });
    expect(info.sid).toMatch(/^sid_/);
    // The 401's scope (the baseline, without offline_access) is what the client asked for and got. The v2
    // client adds offline_access on its own because the authorization server metadata lists it.
    const asked = clientSdk === 'v2' ? 'openid profile email offline_access' : 'openid profile email';
    expect(c.provider.lastAuthorizationUrl!.searchParams.get('scope')).toBe(asked);
    expect(info.scopes).toEqual(asked.split(' '));
    await c.close();
  });

  it("refreshes after the proxy's access token expired (401), and the tool still works", async () => {
    const c = await connect(clientSdk, `${base}/mcp/${serverSdk}`, new TestBrowser());
    const before = c.provider.tokens()!;
    skew.ms += (ACCESS_TTL + 5) * 1000;
    expect((await c.call('whoami')).sub).toBe('alice');
    const after = c.provider.tokens()!;
    expect(after.access_token).not.toBe(before.access_token);
    expect(after.refresh_token).not.toBe(before.refresh_token);
    await c.close();
  });
});

describe.each(['v1', 'v2'] as const)('scope step-up on a %s server', (serverSdk) => {
  it('v2 client: a 403 insufficient_scope names openid email; the client re-authorizes with it (the union of old and new) and the tool works', async () => {
    const browser = new TestBrowser();
    const narrow = await connect('v2', `${base}/mcp/${serverSdk}/openid`, browser);
    const first = await narrow.call('claims');
    expect(first.scopes).toEqual(['openid', 'offline_access']);
    await narrow.close();
    const provider = narrow.provider;
    // The same client (its registration and tokens) now calls a route that needs email.
    const transport = new TransportV2(new URL(`${base}/mcp/${serverSdk}/email`), { authProvider: provider as unknown as ProviderV2 });
    const before = provider.authorizationUrls.length;
    await expect(new ClientV2({ name: 'step-up', version: '1' }).connect(transport)).rejects.toBeInstanceOf(UnauthorizedV2);
    expect(provider.authorizationUrls.length).toBe(before + 1);
    expect(provider.lastAuthorizationUrl!.searchParams.get('scope')).toBe('openid offline_access email');
    const callback = await completeAuthorization(provider, browser, 'alice');
    await transport.finishAuth(callback.code!, callback.iss ?? undefined);
    const again = new ClientV2({ name: 'step-up', version: '1' });
    await again.connect(new TransportV2(new URL(`${base}/mcp/${serverSdk}/email`), { authProvider: provider as unknown as ProviderV2 }));
    const wide = await callToolV2(again, 'claims');
    expect(wide.scopes).toEqual(['openid', 'offline_access', 'email']);
    expect(wide.sub).toBe('alice');
    await again.close();
  });

  it('v1 client: the 403 names the scope; a fresh auth() with that scope (the documented v1 path) steps up', async () => {
    const browser = new TestBrowser();
    const narrow = await connect('v1', `${base}/mcp/${serverSdk}/openid`, browser);
    await narrow.close();
    const provider = narrow.provider;
    const url = `${base}/mcp/${serverSdk}/email`;
    const res = await fetch(url, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${provider.tokens()!.access_token}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: '{}',
    });
    expect(res.status).toBe(403);
    const scope = /scope="([^"]*)"/.exec(res.headers.get('www-authenticate') ?? '')?.[1];
    expect(scope).toBe('openid email');
    // v1's auth() would first use the refresh token, which cannot widen a grant: drop the tokens, then authorize with the scope.
    provider.invalidateCredentials('tokens');
    expect(await authV1(provider, { serverUrl: url, scope: scope! })).toBe('REDIRECT');
    expect(provider.lastAuthorizationUrl!.searchParams.get('scope')).toBe('openid email');
    const callback = await completeAuthorization(provider, browser, 'alice');
    expect(await authV1(provider, { serverUrl: url, authorizationCode: callback.code! })).toBe('AUTHORIZED');
    const client = new ClientV1({ name: 'step-up', version: '1' });
    await client.connect(new TransportV1(new URL(url), { authProvider: provider }));
    expect((await callTool(client, 'claims')).scopes).toEqual(['openid', 'email']);
    await client.close();
  });
});
