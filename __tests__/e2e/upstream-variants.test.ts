import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import http, { type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { exportJWK, generateKeyPair } from 'jose';
import { createOAuthProxy, type OAuthProxy, type OAuthProxyOptions, type ProviderConfig } from '../../lib/index.js';
import { freePort, startTestIdp, TEST_CLIENT_SECRET, type TestIdp } from '../helpers/idp.js';
// After helpers/idp.js, which filters oidc-provider's start-up warnings.
import { DEFAULT_USERS } from '../../examples/demo-idp.js';
import { TestBrowser } from '../helpers/browser.js';
import { callTool, connectMcpClient, mountMcpServer } from '../helpers/mcp.js';
import { TEST_SECRET, TEST_VAULT_KEY, recordingLogger } from '../helpers/proxy.js';
import { authorizeUrl, pkcePair, registerClient } from '../helpers/signin.js';

/**
 * Upstream variants against ONE real oidc-provider IdP: every providerConfig
 * override, skipped or missing discovery, inline JWKS (right and wrong), a
 * sign-in without openid (identity from userinfo), and the refusals of the
 * callback: upstream error=, no `sub`, and an `iss` mix-up (RFC 9207).
 */
const listen = (s: Server) => new Promise<number>((r) => s.listen(0, '127.0.0.1', () => r((s.address() as AddressInfo).port)));
const closeServer = (s: Server) =>
  new Promise<void>((r) => {
    s.closeAllConnections();
    s.close(() => r());
  });

interface TestProxy {
  issuer: string;
  mcpUrl: string;
  oauth: OAuthProxy;
  fetched: string[];
  logs: ReturnType<typeof recordingLogger>;
}

let idp: TestIdp;
const servers: Server[] = [];
const proxies: OAuthProxy[] = [];
const allLogs: Array<ReturnType<typeof recordingLogger>> = [];

/**
 * A plain-OAuth user endpoint (like GitHub's /user). oidc-provider's own userinfo refuses tokens
 * without the openid scope (OIDC Core §5.3), so this small fake stands in for it: it still checks
 * the bearer token against the real IdP's token store. `/user-nosub` answers without a `sub`,
 * which oidc-provider itself can never do.
 */
const userEndpoint = { hits: 0, url: '' };
async function startUserEndpoint(): Promise<void> {
  const srv = http.createServer((req, res) => {
    userEndpoint.hits += 1;
    const token = (req.headers.authorization ?? '').replace(/^Bearer /i, '');
    (idp.provider.AccessToken.find(token) as Promise<{ accountId: string } | undefined>).then(
      (at) => {
        if (!at) {
          res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"' }).end();
          return;
        }
        const claims = { ...DEFAULT_USERS[at.accountId], userinfo_source: 'user-endpoint' };
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(req.url === '/user-nosub' ? claims : { sub: at.accountId, ...claims }));
      },
      () => {
        res.writeHead(500).end();
      },
    );
  });
  servers.push(srv);
  userEndpoint.url = `http://127.0.0.1:${await listen(srv)}`;
}

/** An IdP without discovery: 404 for /.well-known/*, everything else forwarded to the demo IdP. */
async function startNoDiscoveryFront(): Promise<{ url: string; wellKnownHits: string[] }> {
  const wellKnownHits: string[] = [];
  const target = new URL(idp.issuer);
  const srv = http.createServer((req, res) => {
    if ((req.url ?? '').startsWith('/.well-known/')) {
      wellKnownHits.push(req.url!);
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not_found"}');
      return;
    }
    const up = http.request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => {
      res.writeHead(502).end();
    });
    req.pipe(up);
  });
  servers.push(srv);
  return { url: `http://127.0.0.1:${await listen(srv)}`, wellKnownHits };
}

/** One proxy (own port, own upstream client at the shared IdP) with the MCP test server behind it. */
async function startProxy(
  pc: ProviderConfig,
  extra: Partial<OAuthProxyOptions> = {},
  userinfoUrl = idp.endpoints.userinfo,
): Promise<TestProxy> {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}/oauth`;
  const clientId = `proxy-${port}`;
  await idp.addClient({ clientId, clientSecret: TEST_CLIENT_SECRET, redirectUris: [`${issuer}/callback`] });
  const fetched: string[] = [];
  const logs = recordingLogger();
  allLogs.push(logs);
  const oauth = createOAuthProxy({
    issuer,
    provider: idp.issuer,
    clientId,
    clientSecret: TEST_CLIENT_SECRET,
    scopes: ['openid', 'profile', 'email'],
    providerConfig: { id: 'upstream', ...pc },
    secret: TEST_SECRET,
    encryptionKey: TEST_VAULT_KEY,
    consent: { enabled: false },
    registration: { rateLimit: false },
    logger: logs.logger,
    fetch: (input, init) => {
      fetched.push(input instanceof Request ? input.url : String(input));
      return fetch(input, init);
    },
    ...extra,
  });
  proxies.push(oauth);
  const app = express();
  app.use(oauth.wellKnown);
  app.use('/oauth', oauth);
  mountMcpServer(app, '/mcp', oauth.requireSession(), { userinfoUrl, providerId: 'upstream' });
  const srv = http.createServer(app);
  servers.push(srv);
  await new Promise<void>((r) => srv.listen(port, '127.0.0.1', () => r()));
  return { issuer, mcpUrl: `http://127.0.0.1:${port}/mcp`, oauth, fetched, logs };
}

/** The SDK's whole flow, then a tool that calls the upstream with the upstream token. */
async function expectWorksEndToEnd(p: TestProxy, login = 'alice'): Promise<Record<string, any>> {
  const { client } = await connectMcpClient({ serverUrl: p.mcpUrl, browser: new TestBrowser(), login });
  try {
    expect((await callTool(client, 'whoami')).sub).toBe(login);
    return await callTool(client, 'claims');
  } finally {
    await client.close();
  }
}

/** A browser sign-in through the proxy that may end in an error; stops at the client's redirect URI. */
async function attempt(p: TestProxy): Promise<URL> {
  const client = await registerClient(p.issuer);
  const redirectUri = client.redirect_uris[0]!;
  const url = authorizeUrl(p.issuer, { clientId: client.client_id, redirectUri, state: 'client-state', challenge: pkcePair().challenge });
  return (await new TestBrowser().authorize(url, { login: 'alice', stopAt: (u) => u.href.startsWith(redirectUri) })).url;
}

function expectRefused(back: URL, error = 'access_denied'): void {
  expect(back.searchParams.get('error')).toBe(error);
  expect(back.searchParams.get('state')).toBe('client-state');
  expect(back.searchParams.has('code')).toBe(false);
}

beforeAll(async () => {
  idp = await startTestIdp();
  await startUserEndpoint();
});
afterAll(async () => {
  for (const p of proxies) await p.close();
  for (const s of servers) await closeServer(s);
  await idp.close();
});

describe('discovery and endpoint overrides', () => {
  it('skipDiscovery with every endpoint given works end to end, with no discovery request', async () => {
    const e = idp.endpoints;
    const p = await startProxy({
      skipDiscovery: true,
      authEndpoint: e.authorization,
      tokenEndpoint: e.token,
      userInfoEndpoint: e.userinfo,
      jwksUri: e.jwks,
    });
    const claims = await expectWorksEndToEnd(p);
    expect(claims.claims.department).toBe('engineering');
    expect(p.fetched.some((u) => u.includes('/.well-known/'))).toBe(false);
    expect(p.fetched).toEqual(expect.arrayContaining([e.token, e.jwks]));
  });

  it('an IdP with no discovery document at all works with overrides', async () => {
    const front = await startNoDiscoveryFront();
    const p = await startProxy(
      {
        issuer: idp.issuer,
        authEndpoint: idp.endpoints.authorization,
        tokenEndpoint: `${front.url}/token`,
        userInfoEndpoint: `${front.url}/me`,
        jwksUri: `${front.url}/jwks`,
      },
      { provider: front.url },
    );
    await expectWorksEndToEnd(p, 'bob');
    expect(front.wellKnownHits.length).toBeGreaterThan(0); // discovery was tried, and got 404s
    expect(p.fetched).toEqual(expect.arrayContaining([`${front.url}/token`, `${front.url}/jwks`]));
  });

  it('without overrides, an IdP with no discovery document is a 503, not a crash', async () => {
    const front = await startNoDiscoveryFront();
    const p = await startProxy({}, { provider: front.url });
    const client = await registerClient(p.issuer);
    const url = authorizeUrl(p.issuer, {
      clientId: client.client_id,
      redirectUri: client.redirect_uris[0]!,
      state: 's',
      challenge: pkcePair().challenge,
    });
    const page = await new TestBrowser().get(url);
    expect(page.status).toBe(503);
    expect(page.body).toContain('temporarily_unavailable');
  });
});

describe('id_token verification keys', () => {
  let jwks: { keys: Array<Record<string, unknown>> };
  let closedJwksUri: string;
  beforeAll(async () => {
    jwks = (await (await fetch(idp.endpoints.jwks)).json()) as typeof jwks;
    closedJwksUri = `http://127.0.0.1:${await freePort()}/jwks`;
  });

  it('inline providerConfig.jwks works (jwksUri points at a closed port)', async () => {
    const p = await startProxy({ jwks, jwksUri: closedJwksUri });
    await expectWorksEndToEnd(p);
    expect(p.fetched.some((u) => u.includes('/jwks'))).toBe(false);
  });

  it('a wrong inline key (same kid) refuses the sign-in: access_denied, no code', async () => {
    const { publicKey } = await generateKeyPair('RS256', { extractable: true });
    const wrong = { ...(await exportJWK(publicKey)), kid: jwks.keys[0]!.kid, alg: 'RS256', use: 'sig' };
    const p = await startProxy({ jwks: { keys: [wrong] }, jwksUri: closedJwksUri });
    const codes = idp.counters.code;
    expectRefused(await attempt(p));
    expect(idp.counters.code).toBe(codes + 1); // the code was exchanged; the id_token then failed verification
    expect(p.logs.text()).toContain('JWSSignatureVerificationFailed');
  });
});

describe('identity without openid', () => {
  it('scopes without openid (no id_token): identity comes from userinfo', async () => {
    const p = await startProxy({ userInfoEndpoint: `${userEndpoint.url}/user` }, { scopes: ['profile'] }, `${userEndpoint.url}/user`);
    const hits = userEndpoint.hits;
    const info = await expectWorksEndToEnd(p);
    expect(info.sub).toBe('alice');
    expect(info.claims).toMatchObject({ sub: 'alice', userinfo_source: 'user-endpoint', department: 'engineering' });
    expect(info.scopes).toEqual(['profile']);
    expect(userEndpoint.hits).toBeGreaterThan(hits);
  });

  it('an upstream identity without sub is refused (fake user endpoint: oidc-provider cannot omit sub)', async () => {
    const p = await startProxy({ userInfoEndpoint: `${userEndpoint.url}/user-nosub` }, { scopes: ['profile'] });
    const hits = userEndpoint.hits;
    expectRefused(await attempt(p));
    expect(userEndpoint.hits).toBe(hits + 1);
  });
});

describe('callback refusals', () => {
  let p: TestProxy;
  beforeAll(async () => {
    p = await startProxy({});
  });

  /** Runs a sign-in up to (not into) the URL `stop` matches; returns that URL, the browser and the client's redirect URI. */
  async function until(stop: (u: URL) => boolean) {
    const client = await registerClient(p.issuer);
    const redirectUri = client.redirect_uris[0]!;
    const browser = new TestBrowser();
    const url = authorizeUrl(p.issuer, { clientId: client.client_id, redirectUri, state: 'client-state', challenge: pkcePair().challenge });
    const { url: stopped } = await browser.authorize(url, { login: 'alice', stopAt: stop });
    return { stopped, browser, redirectUri };
  }

  it('upstream error=access_denied goes back to the client as access_denied, never a code', async () => {
    const { stopped, browser, redirectUri } = await until((u) => u.href.startsWith(idp.endpoints.authorization));
    const state = stopped.searchParams.get('state')!;
    const cb = `${p.issuer}/callback?error=access_denied&state=${encodeURIComponent(state)}&iss=${encodeURIComponent(idp.issuer)}`;
    const back = (await browser.get(cb, { stopAt: (u) => u.href.startsWith(redirectUri) })).stoppedAt!;
    expectRefused(back);
    expect(back.searchParams.get('iss')).toBe(p.issuer);
    // The pending state was used up: the same callback again is an error page.
    const again = await browser.get(cb, { stopAt: (u) => u.href.startsWith(redirectUri) });
    expect(again.stoppedAt).toBeUndefined();
    expect(again.status).toBe(400);
  });

  it('an iss mix-up on the callback (RFC 9207) is refused before the code is exchanged', async () => {
    const { stopped, browser, redirectUri } = await until((u) => u.href.startsWith(`${p.issuer}/callback`));
    expect(stopped.searchParams.get('code')).toBeTruthy();
    stopped.searchParams.set('iss', 'https://evil.example');
    const codes = idp.counters.code;
    const back = (await browser.get(stopped, { stopAt: (u) => u.href.startsWith(redirectUri) })).stoppedAt!;
    expectRefused(back);
    expect(idp.counters.code).toBe(codes);
  });

  it('a callback from another browser is refused', async () => {
    const { stopped } = await until((u) => u.href.startsWith(`${p.issuer}/callback`));
    const page = await new TestBrowser().get(stopped, { stopAt: () => false });
    expect(page.status).toBe(403);
    expect(page.body).toContain('access_denied');
  });
});

describe('hygiene', () => {
  it('no proxy logged an upstream secret, code or token', () => {
    for (const logs of allLogs) {
      expect(logs.text()).not.toContain(TEST_CLIENT_SECRET);
      expect(logs.text()).not.toMatch(/mop_code_|mop_rt_|eyJ/);
    }
  });
});
