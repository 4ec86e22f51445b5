import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import request from 'supertest';
import { MemoryStore } from '../../lib/index.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { TestBrowser } from '../helpers/browser.js';
import { proxyApp } from '../helpers/proxy.js';
import { authorizeUrl, exchangeCode, pkce, registerClient } from '../helpers/oauth-flow.js';

/**
 * Issue 5, redirect URIs and registration: the redirect URIs real MCP clients
 * use register and complete a sign-in through a real IdP; every refused kind is
 * refused; the allow-list, abuse limits, expiry of unused registrations and
 * CORS behave as documented.
 */

describe('real clients’ redirect URIs register and sign in end to end', () => {
  let stack: Stack;
  let offset = 0;
  const clock = () => Date.now() + offset;
  const store = new MemoryStore({ clock });
  beforeAll(async () => {
    stack = await startStack({ proxy: { clock }, stores: () => store });
  });
  afterAll(async () => {
    await stack.close();
    await store.close();
  });

  const cases: Array<{ name: string; registered: string; requested?: string; metadata?: Record<string, unknown> }> = [
    {
      name: 'Claude (confidential, client_secret_post)',
      registered: 'https://claude.ai/api/mcp/auth_callback',
      metadata: { token_endpoint_auth_method: 'client_secret_post' },
    },
    {
      name: 'Claude Code (localhost, random port)',
      registered: 'http://localhost:45678/callback',
      requested: 'http://localhost:51234/callback',
    },
    { name: 'VS Code loopback', registered: 'http://127.0.0.1:33418/' },
    { name: 'VS Code loopback on another port', registered: 'http://127.0.0.1:33418/', requested: 'http://127.0.0.1:40001/' },
    { name: 'VS Code web', registered: 'https://vscode.dev/redirect' },
    {
      name: 'Cursor (private-use scheme)',
      registered: 'cursor://anysphere.cursor-mcp/oauth/callback',
      metadata: { application_type: 'web' },
    },
  ];

  it.each(cases)('$name', async ({ registered, requested = registered, metadata = {} }) => {
    const client = await registerClient(stack.issuer, {
      redirect_uris: [registered],
      token_endpoint_auth_method: 'none',
      client_name: 'real client',
      ...metadata,
    });
    expect(client.redirect_uris).toEqual([registered]);
    const { challenge, verifier } = pkce();
    const { url, steps } = await new TestBrowser().authorize(
      authorizeUrl(stack.issuer, { clientId: client.client_id, redirectUri: requested, challenge, state: 'xyz', resource: stack.mcpUrl }),
      { login: 'alice', stopAt: (u) => u.href.startsWith(requested) },
    );
    expect(steps[0]).toMatch(/^GET .*\/oauth\/authorize → 303$/);
    expect(steps.some((s) => s.startsWith(`GET ${stack.idp.endpoints.authorization}`))).toBe(true);
    expect(url.href.startsWith(`${requested}?`)).toBe(true);
    expect(url.searchParams.get('state')).toBe('xyz');
    const code = url.searchParams.get('code');
    expect(code).toBeTruthy();
    const token = await exchangeCode(stack.issuer, {
      clientId: client.client_id,
      code: code!,
      verifier,
      redirectUri: requested,
      ...(client.client_secret ? { clientSecret: client.client_secret } : {}),
    });
    expect(token.status).toBe(200);
    expect(token.body.access_token).toEqual(expect.any(String));
  });

  it('an unused registration expires; a used one outlives it', async () => {
    const redirect = 'http://localhost:47000/callback';
    const used = await registerClient(stack.issuer, { redirect_uris: [redirect], token_endpoint_auth_method: 'none' });
    const unused = await registerClient(stack.issuer, { redirect_uris: [redirect], token_endpoint_auth_method: 'none' });
    const { challenge, verifier } = pkce();
    const signIn = await new TestBrowser().authorize(
      authorizeUrl(stack.issuer, { clientId: used.client_id, redirectUri: redirect, challenge }),
      { login: 'bob', stopAt: (u) => u.href.startsWith(redirect) },
    );
    expect(
      (
        await exchangeCode(stack.issuer, {
          clientId: used.client_id,
          code: signIn.url.searchParams.get('code')!,
          verifier,
          redirectUri: redirect,
        })
      ).status,
    ).toBe(200);
    try {
      offset = 25 * 3600 * 1000; // past the default 24 h unusedTtl
      const gone = await new TestBrowser().get(
        authorizeUrl(stack.issuer, { clientId: unused.client_id, redirectUri: redirect, challenge }),
      );
      expect(gone.status).toBe(400);
      expect(gone.body).toContain('Unknown client_id');
      const alive = await new TestBrowser().get(
        authorizeUrl(stack.issuer, { clientId: used.client_id, redirectUri: redirect, challenge }),
        { stopAt: (u) => u.origin === stack.idp.issuer },
      );
      expect(alive.stoppedAt?.href).toContain(stack.idp.endpoints.authorization);
    } finally {
      offset = 0;
    }
  });
});

describe('refused redirect URIs', () => {
  const { app, oauth } = proxyApp();
  afterAll(() => oauth.close());

  it.each([
    ['javascript:', 'javascript:alert(1)'],
    ['data:', 'data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=='],
    ['file:', 'file:///etc/passwd'],
    ['vbscript:', 'vbscript:msgbox(1)'],
    ['a fragment', 'https://app.example.com/cb#frag'],
    ['an empty fragment', 'https://app.example.com/cb#'],
    ['userinfo', 'https://claude.ai@evil.example/cb'],
    ['a dot segment', 'https://app.example.com/a/../cb'],
    ['an encoded dot segment', 'https://app.example.com/a/%2e%2e/cb'],
    ['http on a non-loopback host', 'http://app.example.com/cb'],
  ])('%s → 400 invalid_redirect_uri', async (_kind, uri) => {
    const res = await request(app)
      .post('/oauth/register')
      .send({ redirect_uris: ['https://ok.example.com/cb', uri], token_endpoint_auth_method: 'none' });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_redirect_uri');
    expect(res.body.error_description).toContain('redirect_uris[1]');
    expect(res.body.client_id).toBeUndefined();
  });
});

describe('allowedRedirectUris', () => {
  const { app, oauth } = proxyApp({ allowedRedirectUris: ['https://claude.ai/api/mcp/auth_callback', /http:\/\/localhost:\d+\/callback/] });
  afterAll(() => oauth.close());

  it('registers listed URIs (strings exactly, RegExps in full) and refuses the rest', async () => {
    for (const uri of ['https://claude.ai/api/mcp/auth_callback', 'http://localhost:4567/callback']) {
      await request(app)
        .post('/oauth/register')
        .send({ redirect_uris: [uri], token_endpoint_auth_method: 'none' })
        .expect(201);
    }
    for (const uri of [
      'https://vscode.dev/redirect',
      'https://claude.ai/api/mcp/auth_callback/x',
      'http://localhost:4567/callback/extra',
    ]) {
      const res = await request(app)
        .post('/oauth/register')
        .send({ redirect_uris: [uri], token_endpoint_auth_method: 'none' });
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('invalid_redirect_uri');
    }
  });
});

describe('abuse limits', () => {
  it('a body over 16 KB gets 413 with a JSON error', async () => {
    const { app, oauth } = proxyApp();
    try {
      const res = await request(app)
        .post('/oauth/register')
        .send({ redirect_uris: ['https://a.example/cb'], software_statement: 'x'.repeat(17 * 1024) });
      expect(res.status).toBe(413);
      expect(res.headers['content-type']).toMatch(/application\/json/);
      expect(res.body.error).toBe('invalid_request');
    } finally {
      await oauth.close();
    }
  });

  it('a client_name over the cap gets 400 invalid_client_metadata', async () => {
    const { app, oauth } = proxyApp();
    try {
      await request(app)
        .post('/oauth/register')
        .send({ redirect_uris: ['https://a.example/cb'], client_name: 'n'.repeat(200) })
        .expect(201);
      const res = await request(app)
        .post('/oauth/register')
        .send({ redirect_uris: ['https://a.example/cb'], client_name: 'n'.repeat(201) });
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('invalid_client_metadata');
      expect(res.body.error_description).toContain('client_name');
    } finally {
      await oauth.close();
    }
  });

  it('registrations are rate limited per IP: 429 with Retry-After', async () => {
    const { app, oauth } = proxyApp({ registration: { rateLimit: { windowMs: 60_000, limit: 3 } } });
    try {
      for (let i = 0; i < 3; i++)
        await request(app)
          .post('/oauth/register')
          .send({ redirect_uris: ['https://a.example/cb'] })
          .expect(201);
      const res = await request(app)
        .post('/oauth/register')
        .send({ redirect_uris: ['https://a.example/cb'] });
      expect(res.status).toBe(429);
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
      expect(Number(res.headers['retry-after'])).toBeLessThanOrEqual(60);
      expect(res.body.error).toBe('too_many_requests');
      // Other endpoints are not affected by the registration limit.
      await request(app).get('/.well-known/oauth-authorization-server/oauth').expect(200);
    } finally {
      await oauth.close();
    }
  });

  // Issue 12, finding 8: the limit was per process, so N instances allowed N times the limit.
  it('the registration limit is kept in the store: instances sharing it count together, and X-Forwarded-For is ignored without trust proxy', async () => {
    const store = new MemoryStore();
    const a = proxyApp({ store, registration: { rateLimit: { windowMs: 60_000, limit: 2 } } });
    const b = proxyApp({ store, registration: { rateLimit: { windowMs: 60_000, limit: 2 } } });
    try {
      await request(a.app)
        .post('/oauth/register')
        .send({ redirect_uris: ['https://a.example/cb'] })
        .expect(201);
      await request(b.app)
        .post('/oauth/register')
        .send({ redirect_uris: ['https://a.example/cb'] })
        .expect(201);
      const res = await request(a.app)
        .post('/oauth/register')
        .set('X-Forwarded-For', '198.51.100.7')
        .send({ redirect_uris: ['https://a.example/cb'] });
      expect(res.status).toBe(429);
      expect(res.body.error).toBe('too_many_requests');
      await request(b.app)
        .post('/oauth/register')
        .send({ redirect_uris: ['https://a.example/cb'] })
        .expect(429);
    } finally {
      await a.oauth.close();
      await b.oauth.close();
      await store.close();
    }
  });

  it('an unused registration expires after registration.unusedTtl', async () => {
    let now = Date.now();
    const clock = () => now;
    const { app, oauth } = proxyApp({
      clock,
      store: new MemoryStore({ clock }),
      consent: {},
      registration: { unusedTtl: 600, rateLimit: false },
    });
    try {
      const reg = await request(app)
        .post('/oauth/register')
        .send({ redirect_uris: ['http://localhost:3000/callback'], token_endpoint_auth_method: 'none' })
        .expect(201);
      const authorize = () =>
        request(app)
          .get('/oauth/authorize')
          .query({ response_type: 'code', client_id: reg.body.client_id, code_challenge: pkce().challenge, code_challenge_method: 'S256' });
      now += 599_000;
      expect((await authorize()).status).toBe(200); // the consent page: still registered
      now += 2_000;
      const res = await authorize();
      expect(res.status).toBe(400);
      expect(res.text).toContain('Unknown client_id');
      expect(res.headers.location).toBeUndefined();
    } finally {
      await oauth.close();
    }
  });
});

describe('CORS', () => {
  const { app, oauth } = proxyApp();
  afterAll(() => oauth.close());
  const origin = 'http://localhost:6274';

  it.each([
    '/oauth/register',
    '/oauth/token',
    '/oauth/revoke',
    '/.well-known/oauth-authorization-server/oauth',
    '/.well-known/oauth-protected-resource/mcp',
    '/.well-known/oauth-protected-resource',
  ])('preflight on %s → 204 with Allow-Origin and Allow-Headers including Authorization', async (path) => {
    const res = await request(app)
      .options(path)
      .set('Origin', origin)
      .set('Access-Control-Request-Method', 'POST')
      .set('Access-Control-Request-Headers', 'authorization, content-type');
    expect(res.status).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe('*');
    expect(res.headers['access-control-allow-headers']).toMatch(/(^|,\s*)Authorization(,|$)/i);
    expect(res.headers['access-control-allow-methods']).toContain('POST');
  });

  it('POST responses carry Access-Control-Allow-Origin, errors included', async () => {
    const reg = await request(app)
      .post('/oauth/register')
      .set('Origin', origin)
      .send({ redirect_uris: ['http://localhost:6274/oauth/callback'], token_endpoint_auth_method: 'none' });
    expect(reg.status).toBe(201);
    expect(reg.headers['access-control-allow-origin']).toBe('*');
    const token = await request(app)
      .post('/oauth/token')
      .set('Origin', origin)
      .type('form')
      .send({ grant_type: 'authorization_code', client_id: reg.body.client_id, code: 'nope', code_verifier: pkce().verifier });
    expect(token.status).toBe(400);
    expect(token.headers['access-control-allow-origin']).toBe('*');
    const revoke = await request(app)
      .post('/oauth/revoke')
      .set('Origin', origin)
      .type('form')
      .send({ client_id: reg.body.client_id, token: 'nope' });
    expect(revoke.status).toBe(200);
    expect(revoke.headers['access-control-allow-origin']).toBe('*');
  });

  it('the browser endpoints (authorize, consent, callback) have no CORS', async () => {
    for (const path of ['/oauth/authorize', '/oauth/consent', '/oauth/callback']) {
      const pre = await request(app).options(path).set('Origin', origin).set('Access-Control-Request-Method', 'GET');
      expect(pre.headers['access-control-allow-origin']).toBeUndefined();
      const get = await request(app).get(path).set('Origin', origin);
      expect(get.headers['access-control-allow-origin']).toBeUndefined();
    }
  });

  it('a 401 from the MCP endpoint exposes WWW-Authenticate', async () => {
    const res = await request(app).post('/mcp').set('Origin', origin).expect(401);
    expect(res.headers['www-authenticate']).toMatch(/^Bearer /);
    expect(res.headers['access-control-expose-headers']).toMatch(/(^|,\s*)WWW-Authenticate(,|$)/i);
  });

  it('corsOrigins echoes only the listed origin', async () => {
    const { app: app2, oauth: o2 } = proxyApp({ corsOrigins: [origin] });
    try {
      for (const path of ['/oauth/register', '/.well-known/oauth-authorization-server/oauth']) {
        const ok = await request(app2).options(path).set('Origin', origin).set('Access-Control-Request-Method', 'POST');
        expect(ok.status).toBe(204);
        expect(ok.headers['access-control-allow-origin']).toBe(origin);
        expect(ok.headers.vary).toMatch(/Origin/);
        const other = await request(app2).options(path).set('Origin', 'https://evil.example').set('Access-Control-Request-Method', 'POST');
        expect(other.headers['access-control-allow-origin']).toBeUndefined();
      }
      const post = await request(app2)
        .post('/oauth/register')
        .set('Origin', 'https://evil.example')
        .send({ redirect_uris: ['https://a.example/cb'] });
      expect(post.headers['access-control-allow-origin']).toBeUndefined();
    } finally {
      await o2.close();
    }
  });
});
