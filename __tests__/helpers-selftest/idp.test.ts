/**
 * Self-test of the test fixtures (demo IdP, TestBrowser, MCP harness) without the proxy:
 * openid-client plays the relying party the proxy will be.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import * as oidc from 'openid-client';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { TestBrowser } from '../helpers/browser.js';
import { freePort, startTestIdp, type TestIdp } from '../helpers/idp.js';
import { callTool, mountMcpServer } from '../helpers/mcp.js';

let idp: TestIdp;
let redirectUri: string;
let config: oidc.Configuration;

async function signIn(browser: TestBrowser, login: string, cfg = config, cb = redirectUri) {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const url = oidc.buildAuthorizationUrl(cfg, {
    redirect_uri: cb,
    scope: 'openid profile email offline_access',
    state,
    nonce,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  });
  const result = await browser.authorize(url, { login, stopAt: (u) => u.href.startsWith(cb) });
  const tokens = await oidc.authorizationCodeGrant(cfg, result.url, {
    pkceCodeVerifier: verifier,
    expectedState: state,
    expectedNonce: nonce,
  });
  return { ...result, tokens };
}

async function discover(target: TestIdp): Promise<oidc.Configuration> {
  return oidc.discovery(new URL(target.issuer), target.clientId, target.clientSecret, oidc.ClientSecretBasic(target.clientSecret), {
    execute: [oidc.allowInsecureRequests],
  });
}

beforeAll(async () => {
  redirectUri = `http://127.0.0.1:${await freePort()}/cb`;
  idp = await startTestIdp({ redirectUri });
  config = await discover(idp);
});
afterAll(async () => {
  await idp?.close();
});

describe('demo IdP', () => {
  it('publishes discovery with PKCE S256, revocation, userinfo and no registration', () => {
    const md = config.serverMetadata();
    expect(md.issuer).toBe(idp.issuer);
    expect(md.code_challenge_methods_supported).toEqual(['S256']);
    expect(md.registration_endpoint).toBeUndefined();
    expect(md.revocation_endpoint).toBe(idp.endpoints.revocation);
    expect(md.userinfo_endpoint).toBe(idp.endpoints.userinfo);
    expect(md.authorization_response_iss_parameter_supported).toBe(true);
  });

  it('rejects an authorization request without PKCE', async () => {
    const url = oidc.buildAuthorizationUrl(config, { redirect_uri: redirectUri, scope: 'openid', state: 'x' });
    const { url: cb } = await new TestBrowser().authorize(url, { login: 'alice', stopAt: (u) => u.href.startsWith(redirectUri) });
    expect(cb.searchParams.get('error')).toBe('invalid_request');
  });

  it('signs alice in; id_token carries the custom claims; a refresh token is issued', async () => {
    const before = idp.counters.code;
    const { url, steps, tokens } = await signIn(new TestBrowser(), 'alice');
    expect(url.searchParams.get('iss')).toBe(idp.issuer);
    expect(steps.some((s) => s.startsWith('POST') && s.includes('/interaction/'))).toBe(true);
    const claims = tokens.claims();
    expect(claims).toMatchObject({
      sub: 'alice',
      email: 'alice@example.com',
      department: 'engineering',
      employee_id: 'E-1001',
      roles: ['admin', 'developer'],
    });
    expect(tokens.refresh_token).toEqual(expect.any(String));
    // oidc-provider drops offline_access without prompt=consent; the refresh token is issued anyway.
    expect(tokens.scope?.split(' ')).toEqual(expect.arrayContaining(['openid', 'profile', 'email']));
    expect(idp.counters.code).toBe(before + 1);
  });

  it('userinfo returns the custom claims and is counted', async () => {
    const { tokens } = await signIn(new TestBrowser(), 'alice');
    const before = idp.counters.userinfo;
    const info = await oidc.fetchUserInfo(config, tokens.access_token, 'alice');
    expect(info).toMatchObject({
      sub: 'alice',
      name: 'Alice Liddell',
      department: 'engineering',
      employee_id: 'E-1001',
      roles: ['admin', 'developer'],
    });
    expect(idp.counters.userinfo).toBe(before + 1);
  });

  it('refreshes with rotation; reusing the old refresh token is invalid_grant', async () => {
    const { tokens } = await signIn(new TestBrowser(), 'alice');
    const before = idp.counters.refresh;
    const next = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    expect(idp.counters.refresh).toBe(before + 1);
    expect(next.refresh_token).toEqual(expect.any(String));
    expect(next.refresh_token).not.toBe(tokens.refresh_token);
    await expect(oidc.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('failNext("refresh", 503) fails the next refresh only, without consuming the token', async () => {
    const { tokens } = await signIn(new TestBrowser(), 'alice');
    const codeCount = idp.counters.code;
    idp.failNext('refresh', 503);
    await expect(oidc.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({ cause: { status: 503 } });
    await signIn(new TestBrowser(), 'bob'); // an authorization_code grant is not affected
    expect(idp.counters.code).toBe(codeCount + 1);
    const ok = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    expect(ok.access_token).toEqual(expect.any(String));
  });

  it('failNext("token", 500, 2) fails every kind of token request twice', async () => {
    const { tokens } = await signIn(new TestBrowser(), 'alice');
    idp.failNext('token', 500, 2);
    await expect(oidc.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({ cause: { status: 500 } });
    await expect(signIn(new TestBrowser(), 'bob')).rejects.toMatchObject({ cause: { status: 500 } });
    await expect(oidc.refreshTokenGrant(config, tokens.refresh_token!)).resolves.toHaveProperty('access_token');
  });

  it('failRefreshWithInvalidGrant answers invalid_grant', async () => {
    const { tokens } = await signIn(new TestBrowser(), 'alice');
    idp.failRefreshWithInvalidGrant();
    await expect(oidc.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({ status: 400, error: 'invalid_grant' });
    idp.failNext('refresh', 400);
    await expect(oidc.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({ status: 400, error: 'invalid_request' });
    await expect(oidc.refreshTokenGrant(config, tokens.refresh_token!)).resolves.toHaveProperty('access_token');
  });

  it('two browsers get two different subjects; a browser keeps its IdP session', async () => {
    const aliceBrowser = new TestBrowser();
    const a = await signIn(aliceBrowser, 'alice');
    const b = await signIn(aliceBrowser.fork(), 'bob');
    expect(a.tokens.claims()?.sub).toBe('alice');
    expect(b.tokens.claims()).toMatchObject({ sub: 'bob', department: 'sales', roles: ['viewer'] });
    const again = await signIn(aliceBrowser, 'bob'); // session cookie: no login form this time
    expect(again.tokens.claims()?.sub).toBe('alice');
    expect(again.steps.some((s) => s.startsWith('POST'))).toBe(false);
  });

  it('access tokens expire after accessTokenTtl', async () => {
    const cb = `http://127.0.0.1:${await freePort()}/cb`;
    const shortIdp = await startTestIdp({ redirectUri: cb, accessTokenTtl: 2 });
    try {
      const cfg = await discover(shortIdp);
      const { tokens } = await signIn(new TestBrowser(), 'alice', cfg, cb);
      expect(tokens.expires_in).toBeLessThanOrEqual(2);
      await expect(oidc.fetchUserInfo(cfg, tokens.access_token, 'alice')).resolves.toHaveProperty('sub', 'alice');
      let status = 200;
      for (let i = 0; i < 50 && status === 200; i += 1) {
        await new Promise((r) => setTimeout(r, 200));
        status = (await fetch(shortIdp.endpoints.userinfo, { headers: { authorization: `Bearer ${tokens.access_token}` } })).status;
      }
      expect(status).toBe(401);
    } finally {
      await shortIdp.close();
    }
  });
});

describe('demo IdP: clients added after start', () => {
  it('addClient registers a client once its redirect URI is known', async () => {
    const cb = `http://127.0.0.1:${await freePort()}/late/cb`;
    await idp.addClient({ clientId: 'late-client', clientSecret: 'late-client-secret-0123456789', redirectUris: [cb] });
    const cfg = await discover({ ...idp, clientId: 'late-client', clientSecret: 'late-client-secret-0123456789' });
    const { tokens } = await signIn(new TestBrowser(), 'bob', cfg, cb);
    expect(tokens.claims()).toMatchObject({ sub: 'bob', aud: 'late-client' });
  });
});

async function listen(handler: Parameters<typeof createServer>[1]): Promise<{ server: Server; base: string }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe('TestBrowser', () => {
  const seen: Array<{ body: string; cookie: string | undefined }> = [];
  let fake: { server: Server; base: string };
  const clientCb = 'http://localhost:1/callback';

  beforeAll(async () => {
    const app = express();
    app.use(express.urlencoded({ extended: false }));
    app.get('/authorize', (_req, res) => {
      res.setHeader('set-cookie', [
        'txn_cookie=t1; Path=/; HttpOnly; SameSite=Lax',
        'strict=s1; Path=/; SameSite=Strict',
        'scoped=x; Path=/elsewhere',
        'gone=1; Path=/; Max-Age=0',
      ]);
      res.type('html').send(`<html><body><h1>Allow &quot;client&quot;?</h1>
        <form method="post" action="/consent?a=1&amp;b=2">
          <input type="hidden" name="csrf" value="c&amp;1"><input type="hidden" name='txn' value=t-1>
          <input type="checkbox" name="remember" value="yes">
          <button type="submit" name="decision" value="approve">Allow</button>
          <button type="submit" name="decision" value="deny">Deny</button>
        </form></body></html>`);
    });
    app.post('/consent', (req, res) => {
      seen.push({ body: new URLSearchParams(req.body as Record<string, string>).toString(), cookie: req.headers.cookie });
      const q = req.body.decision === 'approve' ? 'code=c0de&state=st' : 'error=access_denied&state=st';
      res.redirect(303, `/bounce?to=${encodeURIComponent(`${clientCb}?${q}`)}`);
    });
    app.get('/bounce', (req, res) => {
      res.redirect(String(req.query.to));
    });
    app.get('/broken', (_req, res) => {
      res.status(400).type('html').send('<p>Invalid <b>redirect_uri</b></p>');
    });
    fake = await listen(app);
  });
  afterAll(async () => {
    fake.server.closeAllConnections();
    await new Promise((r) => fake.server.close(r));
  });

  it('answers the proxy consent page and stops before the client redirect URI', async () => {
    const browser = new TestBrowser();
    const result = await browser.authorize(`${fake.base}/authorize?x=1`, { login: 'alice', stopAt: (u) => u.href.startsWith(clientCb) });
    expect(result.url.searchParams.get('code')).toBe('c0de');
    expect(result.steps.map((s) => s.replace(fake.base, ''))).toEqual(['GET /authorize → 200', 'POST /consent → 303', 'GET /bounce → 302']);
    const last = seen.at(-1)!;
    expect(new URLSearchParams(last.body).getAll('decision')).toEqual(['approve']);
    expect(Object.fromEntries(new URLSearchParams(last.body))).toEqual({ csrf: 'c&1', txn: 't-1', decision: 'approve' });
    expect(last.cookie).toBe('txn_cookie=t1; strict=s1');
    expect(
      browser
        .cookies(fake.base)
        .map((c) => c.name)
        .sort(),
    ).toEqual(['strict', 'txn_cookie']);
  });

  it('can deny, and a fresh browser has an empty jar', async () => {
    const browser = new TestBrowser();
    const { url } = await browser.authorize(`${fake.base}/authorize`, {
      login: 'alice',
      consent: 'deny',
      stopAt: (u) => u.href.startsWith(clientCb),
    });
    expect(url.searchParams.get('error')).toBe('access_denied');
    expect(browser.fork().cookies(fake.base)).toEqual([]);
  });

  it('submitForm posts a chosen submitter; get() returns error pages, authorize() throws on them', async () => {
    const browser = new TestBrowser();
    const page = await browser.get(`${fake.base}/authorize`);
    const done = await browser.submitForm(
      page.url,
      page.body,
      { remember: 'yes' },
      {
        submitter: { name: 'decision', value: 'deny' },
        stopAt: (u) => u.origin === 'http://localhost:1',
      },
    );
    expect(done.stoppedAt?.searchParams.get('error')).toBe('access_denied');
    expect(new URLSearchParams(seen.at(-1)!.body).get('remember')).toBe('yes');
    expect((await browser.get(`${fake.base}/broken`)).status).toBe(400);
    await expect(browser.authorize(`${fake.base}/broken`, { login: 'a', stopAt: () => false })).rejects.toThrow(
      /HTTP 400: Invalid redirect_uri/,
    );
  });
});

describe('MCP harness (fake auth middleware, no proxy)', () => {
  it('whoami fetches upstream userinfo with the upstream token; claims never returns the token', async () => {
    const { tokens } = await signIn(new TestBrowser(), 'alice');
    const app = express();
    mountMcpServer(
      app,
      '/mcp',
      (req, _res, next) => {
        (req as unknown as { auth: unknown }).auth = {
          token: 'our-own-token',
          clientId: 'client-1',
          scopes: ['mcp'],
          extra: {
            sub: 'alice',
            sid: 'sid-1',
            claims: { department: 'engineering' },
            upstreamTokens: { getToken: async () => tokens.access_token },
          },
        };
        next();
      },
      { userinfoUrl: idp.endpoints.userinfo },
    );
    const { server, base } = await listen(app);
    const client = new Client({ name: 'selftest', version: '1.0.0' });
    try {
      await client.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`)));
      expect(await callTool(client, 'whoami')).toMatchObject({ sub: 'alice', department: 'engineering', roles: ['admin', 'developer'] });
      const claims = await callTool<Record<string, unknown>>(client, 'claims');
      expect(claims).toEqual({ sub: 'alice', sid: 'sid-1', claims: { department: 'engineering' }, clientId: 'client-1', scopes: ['mcp'] });
      expect(JSON.stringify(claims)).not.toContain('our-own-token');
    } finally {
      await client.close();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});
