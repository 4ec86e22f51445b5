import { describe, it, expect, beforeAll, afterAll, afterEach } from '@jest/globals';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { createOAuthProxy, type OAuthProxyOptions } from '../../lib/index.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { TestBrowser, parseForms } from '../helpers/browser.js';
import { proxyApp, recordingLogger, TEST_SECRET, TEST_VAULT_KEY } from '../helpers/proxy.js';
import { authorizeUrl, exchangeCode, pkce, registerClient, watchRequests, type RequestWatch } from '../helpers/oauth-flow.js';

/**
 * Issue 5, consent and confused-deputy protection, through the real Router:
 * a real oidc-provider IdP, the proxy with consent on, and cookie-keeping test
 * browsers. "The IdP was never reached" is observed on the IdP's own server
 * (diagnostics channel), not inferred from the proxy.
 */
let stack: Stack;
let idpPort: number;
let idpAuthPath: string;
let watch: RequestWatch;

beforeAll(async () => {
  stack = await startStack({ proxy: { consent: { enabled: true } } });
  idpPort = Number(new URL(stack.idp.issuer).port);
  idpAuthPath = new URL(stack.idp.endpoints.authorization).pathname;
});
afterAll(async () => {
  await stack.close();
});
afterEach(() => {
  watch?.stop();
});

const redirectFor = (port: number) => `http://localhost:${port}/callback`;
const atRedirect = (redirect: string) => (u: URL) => u.href.startsWith(redirect);
const atIdp = (u: URL) => u.origin === stack.idp.issuer;
const onIdp = (steps: string[]) => steps.filter((s) => s.includes(stack.idp.issuer));
const expectPageHeaders = (headers: Headers | Record<string, string>) => {
  const get = (n: string) => (headers instanceof Headers ? headers.get(n) : headers[n]) ?? '';
  expect(get('content-security-policy')).toContain("frame-ancestors 'none'");
  expect(get('x-frame-options')).toBe('DENY');
  expect(get('referrer-policy')).toBe('same-origin');
};

async function newClient(extra: Record<string, unknown> = {}) {
  const redirect = redirectFor(40000 + Math.floor(Math.random() * 20000));
  const client = await registerClient(stack.issuer, {
    redirect_uris: [redirect],
    token_endpoint_auth_method: 'none',
    client_name: 'Consent Test',
    ...extra,
  });
  return { client, redirect };
}

describe('deny', () => {
  it('returns access_denied with state and iss to the redirect URI, and the IdP is never reached', async () => {
    const { client, redirect } = await newClient();
    const { challenge } = pkce();
    const before = { ...stack.idp.counters };
    watch = watchRequests(idpPort);
    const browser = new TestBrowser();
    const { url, steps } = await browser.authorize(
      authorizeUrl(stack.issuer, { clientId: client.client_id, redirectUri: redirect, challenge, state: 'st-deny-1' }),
      {
        login: 'alice',
        consent: 'deny',
        stopAt: atRedirect(redirect),
      },
    );
    expect(url.searchParams.get('error')).toBe('access_denied');
    expect(url.searchParams.get('state')).toBe('st-deny-1');
    expect(url.searchParams.get('iss')).toBe(stack.issuer);
    expect(url.searchParams.get('code')).toBeNull();
    expect(steps.some((s) => /^POST .*\/oauth\/consent → 303$/.test(s))).toBe(true);
    expect(onIdp(steps)).toEqual([]);
    expect(watch.requests).toEqual([]);
    expect(stack.idp.counters).toEqual(before);
  });
});

describe('CSRF on POST /consent', () => {
  async function consentPage(browser: TestBrowser) {
    const { client, redirect } = await newClient();
    const page = await browser.get(
      authorizeUrl(stack.issuer, { clientId: client.client_id, redirectUri: redirect, challenge: pkce().challenge, state: 's' }),
    );
    expect(page.status).toBe(200);
    const form = parseForms(page.body, page.url)[0]!;
    return { page, form, redirect };
  }

  it('a wrong token gets a 403 page and nothing happens', async () => {
    const browser = new TestBrowser();
    const { page, redirect } = await consentPage(browser);
    watch = watchRequests(idpPort);
    const res = await browser.submitForm(
      page.url,
      page.body,
      { csrf: 'x'.repeat(43) },
      { submitter: { name: 'decision', value: 'approve' }, stopAt: atIdp },
    );
    expect(res.stoppedAt).toBeUndefined();
    expect(res.status).toBe(403);
    expect(res.body).toContain('CSRF');
    expectPageHeaders(res.headers);
    expect(watch.requests).toEqual([]);
    // The real form still works afterwards: the failed attempt consumed nothing.
    const ok = await browser.submitForm(
      page.url,
      page.body,
      {},
      { submitter: { name: 'decision', value: 'deny' }, stopAt: atRedirect(redirect) },
    );
    expect(ok.stoppedAt?.searchParams.get('error')).toBe('access_denied');
  });

  it('a missing token gets a 403 page and nothing happens', async () => {
    const browser = new TestBrowser();
    const { form } = await consentPage(browser);
    watch = watchRequests(idpPort);
    const body = new URLSearchParams(form.fields.filter((f) => f.name !== 'csrf').map((f): [string, string] => [f.name, f.value]));
    body.set('decision', 'approve');
    const action = new URL(form.action);
    const res = await fetch(action, {
      method: 'POST',
      redirect: 'manual',
      body: body.toString(),
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        cookie: browser.jar.header(action, { sameSite: true, method: 'POST' }),
      },
    });
    expect(res.status).toBe(403);
    expect(res.headers.get('location')).toBeNull();
    expectPageHeaders(res.headers);
    expect(watch.requests).toEqual([]);
  });

  it("a valid token from another browser's page gets 403 (tokens are bound to the browser session)", async () => {
    const { page } = await consentPage(new TestBrowser());
    watch = watchRequests(idpPort);
    const res = await new TestBrowser().submitForm(
      page.url,
      page.body,
      {},
      { submitter: { name: 'decision', value: 'approve' }, stopAt: atIdp },
    );
    expect(res.status).toBe(403);
    expect(watch.requests).toEqual([]);
  });
});

describe('approve in one browser, complete in another', () => {
  it('is refused at the callback with an error page, no code, and the state is spent', async () => {
    const { client, redirect } = await newClient();
    const { challenge, verifier } = pkce();
    const authUrl = authorizeUrl(stack.issuer, { clientId: client.client_id, redirectUri: redirect, challenge, state: 'attack' });
    const attacker = new TestBrowser();
    const approved = await attacker.authorize(authUrl, { login: 'mallory', stopAt: atIdp });
    expect(approved.url.pathname).toBe(idpAuthPath);

    // The victim has a proxy session of their own (a consent page elsewhere), then follows the link.
    const victim = new TestBrowser();
    const own = await newClient();
    await victim.get(authorizeUrl(stack.issuer, { clientId: own.client.client_id, redirectUri: own.redirect, challenge }));
    expect(victim.cookies(`${stack.issuer}/callback`)).toHaveLength(1);
    const codesBefore = stack.idp.counters.code;
    const atCallback = await victim.authorize(approved.url, {
      login: 'alice',
      stopAt: (u) => u.href.startsWith(`${stack.issuer}/callback`),
    });
    const refused = await victim.get(atCallback.url, { stopAt: atRedirect(redirect) });
    expect(refused.stoppedAt).toBeUndefined();
    expect(refused.status).toBe(403);
    expect(refused.body).toContain('another browser');
    expectPageHeaders(refused.headers);
    expect(stack.idp.counters.code).toBe(codesBefore); // the upstream code was never exchanged

    // Single-use: the browser that approved cannot use that state afterwards either.
    const replay = await attacker.get(atCallback.url, { stopAt: atRedirect(redirect) });
    expect(replay.stoppedAt).toBeUndefined();
    expect(replay.status).toBe(400);
    expect(stack.idp.counters.code).toBe(codesBefore);

    // Control: the same flow completed in the approving browser yields a code that redeems.
    const good = await attacker.authorize(authUrl, { login: 'alice', stopAt: atRedirect(redirect) });
    const code = good.url.searchParams.get('code');
    expect(code).toBeTruthy();
    const token = await exchangeCode(stack.issuer, { clientId: client.client_id, code: code!, verifier, redirectUri: redirect });
    expect(token.status).toBe(200);
  });
});

describe('page headers', () => {
  it('the consent page and error pages forbid framing and referrers; POST /consent answers 303', async () => {
    const { client, redirect } = await newClient();
    const browser = new TestBrowser();
    const consent = await browser.get(
      authorizeUrl(stack.issuer, { clientId: client.client_id, redirectUri: redirect, challenge: pkce().challenge }),
    );
    expect(consent.status).toBe(200);
    expect(consent.body).toContain('name="decision" value="approve"');
    expectPageHeaders(consent.headers);
    const posted = await browser.submitForm(
      consent.url,
      consent.body,
      {},
      { submitter: { name: 'decision', value: 'approve' }, stopAt: atIdp },
    );
    expect(posted.steps).toEqual([expect.stringMatching(/^POST http:\/\/127\.0\.0\.1:\d+\/oauth\/consent → 303$/)]);

    const unknown = await browser.get(authorizeUrl(stack.issuer, { clientId: 'mop_client_nope', challenge: pkce().challenge }));
    expect(unknown.status).toBe(400);
    expectPageHeaders(unknown.headers);
    const badRedirect = await browser.get(
      authorizeUrl(stack.issuer, { clientId: client.client_id, redirectUri: 'https://evil.example/cb', challenge: pkce().challenge }),
    );
    expect(badRedirect.status).toBe(400);
    expect(badRedirect.headers.get('location')).toBeNull();
    expectPageHeaders(badRedirect.headers);
  });
});

describe('browser-session cookie', () => {
  it('is HttpOnly, SameSite=Lax, Path=/oauth, and not Secure on an http issuer', async () => {
    const { client, redirect } = await newClient();
    const browser = new TestBrowser();
    await browser.get(authorizeUrl(stack.issuer, { clientId: client.client_id, redirectUri: redirect, challenge: pkce().challenge }));
    const [cookie, ...more] = browser.cookies(`${stack.issuer}/consent`);
    expect(more).toHaveLength(0);
    expect(cookie).toMatchObject({ name: 'mcp_oauth_proxy', httpOnly: true, sameSite: 'lax', path: '/oauth', secure: false });
    expect(browser.cookies(`${stack.base}/mcp`)).toHaveLength(0);
  });

  it('is Secure when the issuer is https (behind a TLS-terminating proxy)', async () => {
    const logs = recordingLogger();
    const { app, oauth } = proxyApp({ issuer: 'https://mcp.example.test/oauth', consent: { enabled: true }, logger: logs.logger });
    const insecureWarnings = () => logs.lines.filter((l) => l.level === 'warn' && /trust proxy/.test(l.msg ?? ''));
    try {
      const reg = await request(app)
        .post('/oauth/register')
        .send({ redirect_uris: ['https://claude.ai/api/mcp/auth_callback'], token_endpoint_auth_method: 'none' })
        .expect(201);
      const authorize = () =>
        request(app)
          .get('/oauth/authorize')
          .set('X-Forwarded-Proto', 'https')
          .query({ response_type: 'code', client_id: reg.body.client_id, code_challenge: pkce().challenge, code_challenge_method: 'S256' });
      // Without "trust proxy" Express sees http: express-session cannot set the Secure cookie; the proxy says why, once.
      const untrusted = await authorize();
      expect(untrusted.headers['set-cookie']).toBeUndefined();
      await authorize();
      expect(insecureWarnings()).toHaveLength(1);

      app.set('trust proxy', true);
      const res = await authorize();
      expect(res.status).toBe(200);
      const cookie = (res.headers['set-cookie'] as unknown as string[]).find((c) => c.startsWith('mcp_oauth_proxy='))!;
      expect(cookie).toMatch(/; Secure(;|$)/);
      expect(cookie).toMatch(/; HttpOnly(;|$)/);
      expect(cookie).toMatch(/; SameSite=Lax(;|$)/);
      expect(cookie).toMatch(/; Path=\/oauth(;|$)/);
      expect(insecureWarnings()).toHaveLength(1);
    } finally {
      await oauth.close();
    }
  });
});

describe('remembered approval', () => {
  it('skips the page for the same client, redirect URI (any loopback port) and scope; asks again otherwise', async () => {
    const loopback = 'http://127.0.0.1:41111/callback';
    const web = 'https://app.example.test/callback';
    const client = await registerClient(stack.issuer, {
      redirect_uris: [loopback, web],
      token_endpoint_auth_method: 'none',
      client_name: 'Remember Me',
    });
    const { challenge } = pkce();
    const url = (redirectUri: string, scope = 'openid') =>
      authorizeUrl(stack.issuer, { clientId: client.client_id, redirectUri, challenge, scope });
    const browser = new TestBrowser();
    const first = await browser.authorize(url(loopback), { login: 'alice', stopAt: atIdp });
    expect(first.steps.some((s) => s.includes('/oauth/consent'))).toBe(true);

    const again = await browser.get(url(loopback), { stopAt: atIdp });
    expect(again.stoppedAt?.pathname).toBe(idpAuthPath);
    expect(again.steps).toEqual([expect.stringMatching(/^GET .*\/oauth\/authorize → 303$/)]);
    // RFC 8252 loopback: a native app's port changes per run; the approval still holds.
    const otherPort = await browser.get(url('http://127.0.0.1:52222/callback'), { stopAt: atIdp });
    expect(otherPort.stoppedAt?.pathname).toBe(idpAuthPath);

    for (const changed of [url(web), url(loopback, 'openid email')]) {
      const page = await browser.get(changed, { stopAt: atIdp });
      expect(page.stoppedAt).toBeUndefined();
      expect(page.status).toBe(200);
      expect(page.body).toContain('name="decision" value="approve"');
    }
    // Per browser: another browser is asked.
    const elsewhere = await new TestBrowser().get(url(loopback), { stopAt: atIdp });
    expect(elsewhere.status).toBe(200);
    expect(elsewhere.stoppedAt).toBeUndefined();
  });
});

// Issue 12, finding 2: pre-approval browser state lives for authorizationTtl; only an approval whose sign-in completed extends it.
describe('browser-session lifetime', () => {
  const expiry = (b: TestBrowser) => b.cookies(`${stack.issuer}/consent`).find((c) => c.name === 'mcp_oauth_proxy')?.expires ?? 0;
  it('is authorizationTtl until an approved sign-in completes, then consent.rememberFor', async () => {
    const { client, redirect } = await newClient();
    const { challenge } = pkce();
    const url = authorizeUrl(stack.issuer, { clientId: client.client_id, redirectUri: redirect, challenge });
    const browser = new TestBrowser();
    const page = await browser.get(url);
    expect(page.status).toBe(200);
    expect(expiry(browser)).toBeLessThan(Date.now() + 3600_000);
    // Approving alone (an anonymous script can approve its own page) does not extend it.
    const approved = await browser.submitForm(
      page.url,
      page.body,
      {},
      { submitter: { name: 'decision', value: 'approve' }, stopAt: atIdp },
    );
    expect(approved.stoppedAt?.pathname).toBe(idpAuthPath);
    expect(expiry(browser)).toBeLessThan(Date.now() + 3600_000);
    await browser.authorize(approved.stoppedAt!, { login: 'alice', stopAt: atRedirect(redirect) });
    expect(expiry(browser)).toBeGreaterThan(Date.now() + 7 * 24 * 3600_000);
  });
});

// Issue 12, finding 3 (RFC 9700 §4.11.2): authorize errors are redirected only to a client this browser already approved.
describe('authorize errors for a self-registered client', () => {
  it('are pages until this browser approved the client, then go back to the redirect URI', async () => {
    const { client, redirect } = await newClient();
    const bad = authorizeUrl(stack.issuer, {
      clientId: client.client_id,
      redirectUri: redirect,
      challenge: pkce().challenge,
      state: 'st-bad',
    });
    bad.searchParams.set('code_challenge_method', 'plain');
    const browser = new TestBrowser();
    const before = await browser.get(bad, { stopAt: atRedirect(redirect) });
    expect(before.stoppedAt).toBeUndefined();
    expect(before.status).toBe(400);
    expect(before.body).toContain('(invalid_request)');
    expectPageHeaders(before.headers);

    const page = await browser.get(
      authorizeUrl(stack.issuer, { clientId: client.client_id, redirectUri: redirect, challenge: pkce().challenge }),
    );
    await browser.submitForm(page.url, page.body, {}, { submitter: { name: 'decision', value: 'approve' }, stopAt: atIdp });
    const after = await browser.get(bad, { stopAt: atRedirect(redirect) });
    expect(after.stoppedAt?.searchParams.get('error')).toBe('invalid_request');
    expect(after.stoppedAt?.searchParams.get('state')).toBe('st-bad');
    expect(after.stoppedAt?.searchParams.get('iss')).toBe(stack.issuer);

    const other = await new TestBrowser().get(bad, { stopAt: atRedirect(redirect) });
    expect(other.stoppedAt).toBeUndefined();
    expect(other.status).toBe(400);
  });
});

describe('what the consent page shows', () => {
  it('escapes the client name and shows the redirect host', async () => {
    const evil = '<img src=x onerror=alert(1)>';
    const redirect = 'https://claude.ai/api/mcp/auth_callback';
    const client = await registerClient(stack.issuer, { redirect_uris: [redirect], token_endpoint_auth_method: 'none', client_name: evil });
    const page = await new TestBrowser().get(
      authorizeUrl(stack.issuer, { clientId: client.client_id, challenge: pkce().challenge, scope: 'openid email' }),
    );
    expect(page.status).toBe(200);
    expect(page.body).not.toContain(evil);
    expect(page.body).not.toMatch(/<img/i);
    expect(page.body).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(page.body).toMatch(/class="host">claude\.ai</);
    expect(page.body).toContain(redirect);
    expect(page.body).toContain('<code>email</code>');
    expect(page.body).toContain(new URL(stack.idp.issuer).host);
  });

  it('shows a private-use scheme with its scheme, so an app "host" does not pass for a web domain', async () => {
    const redirect = 'cursor://anysphere.cursor-mcp/oauth/callback';
    const client = await registerClient(stack.issuer, {
      redirect_uris: [redirect],
      token_endpoint_auth_method: 'none',
      application_type: 'web',
      client_name: 'Cursor',
    });
    const page = await new TestBrowser().get(authorizeUrl(stack.issuer, { clientId: client.client_id, challenge: pkce().challenge }));
    expect(page.status).toBe(200);
    expect(page.body).toMatch(/class="host">cursor:\/\/anysphere\.cursor-mcp</);
  });
});

describe('consent default and startup warning', () => {
  const base = {
    issuer: 'http://127.0.0.1:9/oauth',
    provider: 'http://127.0.0.1:9',
    clientId: 'proxy-client',
    clientSecret: 'proxy-client-secret',
    secret: TEST_SECRET,
    encryptionKey: TEST_VAULT_KEY,
  };
  const warnings = (logs: ReturnType<typeof recordingLogger>) =>
    logs.lines.filter((l) => l.level === 'warn' && /consent is disabled/.test(l.msg ?? ''));

  // Issue 12, finding 1: this table used to assert that closing registration with consent off is safe (no warning).
  // It is not while metadata documents (CIMD) are on: anyone can publish a client. The third row deliberately changed 0 → 1.
  it('warns when consent is off while any client can appear without the operator (open DCR or CIMD), unless allowedRedirectUris limits redirects', async () => {
    for (const [options, expected] of [
      [{ consent: { enabled: false } }, 1],
      [{}, 0],
      [{ consent: { enabled: false }, registration: { enabled: false } }, 1],
      [{ consent: { enabled: false }, clientMetadataDocuments: { enabled: false } }, 1],
      [{ consent: { enabled: false }, registration: { enabled: false }, clientMetadataDocuments: { enabled: false } }, 0],
      [{ consent: { enabled: false }, allowedRedirectUris: ['https://app.example.test/cb'] }, 0],
      [{ registration: { enabled: false } }, 0],
    ] as Array<[Partial<OAuthProxyOptions>, number]>) {
      const logs = recordingLogger();
      const oauth = createOAuthProxy({ ...base, ...options, logger: logs.logger });
      expect(warnings(logs)).toHaveLength(expected);
      await oauth.close();
    }
  });

  it('is on by default when registration is open: authorize shows the page, the upstream is not contacted', async () => {
    const logs = recordingLogger();
    const { app, oauth } = proxyApp({ consent: {}, logger: logs.logger });
    try {
      const reg = await request(app)
        .post('/oauth/register')
        .send({ redirect_uris: ['http://localhost:3333/callback'], token_endpoint_auth_method: 'none' })
        .expect(201);
      const res = await request(app)
        .get('/oauth/authorize')
        .query({ response_type: 'code', client_id: reg.body.client_id, code_challenge: pkce().challenge, code_challenge_method: 'S256' });
      expect(res.status).toBe(200);
      expect(res.text).toContain('name="decision" value="approve"');
      expect(warnings(logs)).toHaveLength(0);
    } finally {
      await oauth.close();
    }
  });

  it('is on by default with registration closed while metadata documents are on: a published client gets a page, not a silent code', async () => {
    const docs = http.createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          client_id: `http://127.0.0.1:${(docs.address() as AddressInfo).port}${req.url}`,
          client_name: 'Attacker',
          redirect_uris: ['https://attacker.example/cb'],
          token_endpoint_auth_method: 'none',
        }),
      );
    });
    await new Promise<void>((r) => docs.listen(0, '127.0.0.1', () => r()));
    const logs = recordingLogger();
    const { app, oauth } = proxyApp({
      consent: {},
      registration: { enabled: false },
      clientMetadataDocuments: { allowPrivateAddresses: true },
      logger: logs.logger,
    });
    try {
      const clientId = `http://127.0.0.1:${(docs.address() as AddressInfo).port}/evil.json`;
      const res = await request(app)
        .get('/oauth/authorize')
        .query({ response_type: 'code', client_id: clientId, code_challenge: pkce().challenge, code_challenge_method: 'S256' });
      expect(res.status).toBe(200);
      expect(res.headers.location).toBeUndefined();
      expect(res.text).toContain('name="decision" value="approve"');
      expect(warnings(logs)).toHaveLength(0);
    } finally {
      await oauth.close();
      await new Promise<void>((r) => {
        docs.closeAllConnections();
        docs.close(() => r());
      });
    }
  });

  it('is off by default when allowedRedirectUris limits where codes go', async () => {
    const { app, oauth } = proxyApp({ consent: {}, allowedRedirectUris: ['http://localhost:3333/callback'] });
    try {
      const reg = await request(app)
        .post('/oauth/register')
        .send({ redirect_uris: ['http://localhost:3333/callback'], token_endpoint_auth_method: 'none' })
        .expect(201);
      const res = await request(app)
        .get('/oauth/authorize')
        .query({ response_type: 'code', client_id: reg.body.client_id, code_challenge: pkce().challenge, code_challenge_method: 'S256' });
      expect(res.text).not.toContain('name="decision" value="approve"');
    } finally {
      await oauth.close();
    }
  });
});
