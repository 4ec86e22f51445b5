import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import http, { type Server } from 'node:http';
import { randomUUID } from 'node:crypto';
import express, { type Express, type Request } from 'express';
import request from 'supertest';
import { SignJWT, decodeJwt } from 'jose';
import type { AuthInfo as SdkAuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import { createOAuthProxy, requireSession, MemoryStore, type OAuthProxy, type OAuthProxyOptions, type Store } from '../../lib/index.js';
import { freePort, startTestIdp, type TestIdp } from '../helpers/idp.js';
import { TEST_SECRET, TEST_VAULT_KEY, recordingLogger } from '../helpers/proxy.js';
import { TestBrowser } from '../helpers/browser.js';
import { pkcePair, registerClient, signIn, tokenRequest, type RegisteredTestClient } from '../helpers/signin.js';

/**
 * requireSession(): forged and foreign tokens get 401 invalid_token with
 * resource_metadata; a real token (from a sign-in at the real IdP) passes with
 * the SDK's AuthInfo shape, and costs no store round trip unless the handler
 * asks for the upstream token.
 */
const OTHER_SECRET = 'another-signing-secret-0123456789-abcdefghij';
const enc = (s: string) => new TextEncoder().encode(s);
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

/** Counts every method call on a MemoryStore (a JS Proxy; the store itself is real). */
function countingStore(): { store: Store & { close(): Promise<void> }; calls: string[] } {
  const calls: string[] = [];
  const target = new MemoryStore();
  const store = new Proxy(target, {
    get(t, p) {
      const v = Reflect.get(t, p);
      return typeof v === 'function'
        ? (...args: unknown[]) => {
            calls.push(String(p));
            return (v as (...a: unknown[]) => unknown).apply(t, args);
          }
        : v;
    },
  });
  return { store, calls };
}

let idp: TestIdp;
let server: Server;
let oauth: OAuthProxy;
let app: Express;
let issuer: string;
let resource: string;
let client: RegisteredTestClient;
const counting = countingStore();
const skew = { ms: 0 };
let seen: Request[] = [];
const others: OAuthProxy[] = [];

function baseOptions(): OAuthProxyOptions {
  return {
    issuer,
    provider: idp.issuer,
    clientId: idp.clientId,
    clientSecret: idp.clientSecret,
    scopes: ['openid', 'profile', 'email', 'offline_access'],
    providerConfig: { id: 'upstream' },
    secret: TEST_SECRET,
    encryptionKey: TEST_VAULT_KEY,
    consent: { enabled: false },
    registration: { rateLimit: false },
    logger: recordingLogger().logger,
  };
}

beforeAll(async () => {
  const port = await freePort();
  issuer = `http://127.0.0.1:${port}/oauth`;
  resource = `http://127.0.0.1:${port}/mcp`;
  idp = await startTestIdp({ redirectUri: `${issuer}/callback` });
  oauth = createOAuthProxy({ ...baseOptions(), store: counting.store, clock: () => Date.now() + skew.ms });
  app = express();
  app.use(oauth.wellKnown);
  app.use('/oauth', oauth);
  app.all('/mcp', oauth.requireSession(), (req, res) => {
    seen.push(req);
    res.json({ ok: true });
  });
  app.all('/email', oauth.requireSession({ scopes: ['email'] }), (_req, res) => {
    res.json({ ok: true });
  });
  app.all('/upstream', oauth.requireSession(), async (req, res) => {
    res.json({ token: await req.upstreamTokens!.tryGetToken() });
  });
  server = http.createServer(app);
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
  client = await registerClient(issuer);
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  for (const o of [oauth, ...others]) await o.close();
  await counting.store.close();
  await idp.close();
});

/** A real access token: sign-in at the IdP through the proxy, then the token endpoint. */
async function realTokens(scope?: string): Promise<{ access_token: string; refresh_token: string }> {
  const s = await signIn({ issuer }, client, { login: 'alice', ...(scope ? { scope } : {}) });
  const res = await tokenRequest(issuer, {
    grant_type: 'authorization_code',
    code: s.code,
    code_verifier: s.verifier,
    redirect_uri: s.redirectUri,
    client_id: client.client_id,
  });
  expect(res.status).toBe(200);
  return res.body;
}

/** A token with the proxy's claims, minted with jose: right secret and claims unless overridden. */
async function forge(
  o: { claims?: Record<string, unknown>; header?: Record<string, unknown>; secret?: string; alg?: string } = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const payload = {
    iss: issuer,
    aud: resource,
    sub: 'alice',
    sid: 'sid_forged',
    client_id: client.client_id,
    scope: 'openid',
    iat: now,
    exp: now + 600,
    jti: randomUUID(),
    ...o.claims,
  };
  for (const [k, v] of Object.entries(payload)) if (v === undefined) delete (payload as Record<string, unknown>)[k];
  const header = { alg: o.alg ?? 'HS256', typ: 'at+jwt', ...o.header };
  for (const [k, v] of Object.entries(header)) if (v === undefined) delete (header as Record<string, unknown>)[k];
  return new SignJWT(payload).setProtectedHeader(header as { alg: string }).sign(enc(o.secret ?? TEST_SECRET));
}

async function expectInvalidToken(target: Express, token: string, path = '/mcp'): Promise<void> {
  const before = seen.length;
  const res = await request(target).post(path).set('Authorization', `Bearer ${token}`);
  expect(res.status).toBe(401);
  expect(res.headers['www-authenticate']).toMatch(/^Bearer /);
  expect(res.headers['www-authenticate']).toContain('error="invalid_token"');
  expect(res.headers['www-authenticate']).toContain(
    `resource_metadata="http://127.0.0.1:${new URL(issuer).port}/.well-known/oauth-protected-resource/mcp"`,
  );
  expect(res.headers['cache-control']).toBe('no-store');
  expect(seen.length).toBe(before);
}

describe('forged and foreign tokens', () => {
  it('control: a token with the right secret and claims passes', async () => {
    await request(app)
      .post('/mcp')
      .set('Authorization', `Bearer ${await forge()}`)
      .expect(200);
  });

  it('alg none', async () => {
    const now = Math.floor(Date.now() / 1000);
    const payload = {
      iss: issuer,
      aud: resource,
      sub: 'alice',
      sid: 'sid_x',
      client_id: client.client_id,
      iat: now,
      exp: now + 600,
      jti: 'j',
    };
    await expectInvalidToken(app, `${b64({ alg: 'none', typ: 'at+jwt' })}.${b64(payload)}.`);
    await expectInvalidToken(app, `${b64({ alg: 'none' })}.${b64(payload)}.`);
  });

  it('signed with another key, or with HS512 under the right key', async () => {
    await expectInvalidToken(app, await forge({ secret: OTHER_SECRET }));
    await expectInvalidToken(app, await forge({ alg: 'HS512' }));
  });

  it('a real token with a tampered payload (sub changed)', async () => {
    const { access_token: real } = await realTokens();
    const [h, p, sig] = real.split('.');
    const claims = JSON.parse(Buffer.from(p!, 'base64url').toString());
    await expectInvalidToken(app, `${h}.${b64({ ...claims, sub: 'mallory' })}.${sig}`);
  });

  it('expired', async () => {
    const now = Math.floor(Date.now() / 1000);
    await expectInvalidToken(app, await forge({ claims: { iat: now - 700, exp: now - 10 } }));
  });

  it('wrong iss (even only a trailing slash) or wrong aud', async () => {
    await expectInvalidToken(app, await forge({ claims: { iss: 'http://127.0.0.1:9/oauth' } }));
    await expectInvalidToken(app, await forge({ claims: { iss: `${issuer}/` } }));
    await expectInvalidToken(app, await forge({ claims: { aud: 'https://other.example.com/mcp' } }));
    await expectInvalidToken(app, await forge({ claims: { aud: issuer } }));
  });

  it('missing or wrong typ', async () => {
    await expectInvalidToken(app, await forge({ header: { typ: undefined } }));
    await expectInvalidToken(app, await forge({ header: { typ: 'JWT' } }));
  });

  it('missing required claims (sid, client_id, exp)', async () => {
    for (const claim of ['sid', 'client_id', 'exp', 'jti']) await expectInvalidToken(app, await forge({ claims: { [claim]: undefined } }));
  });

  it('the upstream IdP’s own access token (opaque) and id_token (RS256)', async () => {
    const { access_token } = await realTokens();
    const viaTool = await request(app).get('/upstream').set('Authorization', `Bearer ${access_token}`).expect(200);
    expect(typeof viaTool.body.token).toBe('string');
    await expectInvalidToken(app, viaTool.body.token);

    // An id_token straight from the IdP (the proxy's upstream client, as an attacker holding its code would get).
    const { verifier, challenge } = pkcePair();
    const auth = new URL(idp.endpoints.authorization);
    auth.search = new URLSearchParams({
      client_id: idp.clientId,
      response_type: 'code',
      redirect_uri: `${issuer}/callback`,
      scope: 'openid profile',
      state: 'st',
      nonce: 'nn',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    }).toString();
    const { url } = await new TestBrowser().authorize(auth, { login: 'alice', stopAt: (u) => u.href.startsWith(`${issuer}/callback`) });
    const res = await fetch(idp.endpoints.token, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${idp.clientId}:${idp.clientSecret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code: url.searchParams.get('code')!,
        redirect_uri: `${issuer}/callback`,
        code_verifier: verifier,
      }).toString(),
    });
    const upstream = (await res.json()) as { access_token: string; id_token: string };
    expect(JSON.parse(Buffer.from(upstream.id_token.split('.')[0]!, 'base64url').toString()).alg).toBe('RS256');
    await expectInvalidToken(app, upstream.id_token);
    await expectInvalidToken(app, upstream.access_token);
  });
});

describe('a valid token', () => {
  it('sets req.auth in the SDK AuthInfo shape, and req.upstreamTokens is req.auth.extra.upstreamTokens', async () => {
    const { access_token } = await realTokens('openid profile');
    seen = [];
    await request(app).post('/mcp').set('Authorization', `Bearer ${access_token}`).expect(200);
    const req = seen[0]!;
    const auth: SdkAuthInfo = req.auth!; // compile-time: assignable to the SDK's AuthInfo
    const claims = decodeJwt(access_token);
    expect(Object.keys(auth).sort()).toEqual(['clientId', 'expiresAt', 'extra', 'resource', 'resourceMetadataUrl', 'scopes', 'token']);
    // SDK v2 names this document in the scope challenges it builds after authentication.
    expect((auth as { resourceMetadataUrl?: string }).resourceMetadataUrl).toBe(
      `http://127.0.0.1:${new URL(issuer).port}/.well-known/oauth-protected-resource/mcp`,
    );
    expect(auth.token).toBe(access_token);
    expect(auth.clientId).toBe(client.client_id);
    expect(auth.scopes).toEqual(['openid', 'profile']);
    expect(auth.expiresAt).toBe(claims.exp);
    expect(auth.resource).toBeInstanceOf(URL);
    expect(auth.resource!.href).toBe(resource);
    const extra = auth.extra as Record<string, any>;
    expect(Object.keys(extra).sort()).toEqual(['claims', 'sid', 'sub', 'upstreamTokens']);
    expect(extra.sub).toBe('alice');
    expect(extra.sid).toMatch(/^sid_/);
    expect(extra.claims).toMatchObject({ sub: 'alice', department: 'engineering', roles: ['admin', 'developer'] });
    expect(typeof extra.upstreamTokens.getToken).toBe('function');
    expect(typeof extra.upstreamTokens.tryGetToken).toBe('function');
    expect(req.upstreamTokens).toBe(extra.upstreamTokens);
  });

  it('req.auth is frozen throughout, so a handler cannot change what the next request with the token sees', async () => {
    const { access_token } = await realTokens('openid profile');
    seen = [];
    await request(app).post('/mcp').set('Authorization', `Bearer ${access_token}`).expect(200);
    const auth = seen[0]!.auth!;
    const extra = auth.extra as Record<string, any>;
    expect(() => {
      (auth as { clientId: string }).clientId = 'other';
    }).toThrow(TypeError);
    expect(() => {
      auth.scopes.push('admin');
    }).toThrow(TypeError);
    expect(() => {
      extra.sub = 'mallory';
    }).toThrow(TypeError);
    expect(() => {
      extra.claims.department = 'finance';
    }).toThrow(TypeError);
    expect(() => {
      extra.claims.roles.push('root');
    }).toThrow(TypeError);
    await request(app).post('/mcp').set('Authorization', `Bearer ${access_token}`).expect(200);
    const again = seen[1]!.auth!;
    expect(again.scopes).toEqual(['openid', 'profile']);
    expect((again.extra as Record<string, any>).claims).toMatchObject({
      sub: 'alice',
      department: 'engineering',
      roles: ['admin', 'developer'],
    });
  });

  it('`scopes` option: 403 insufficient_scope without them, 200 with them', async () => {
    const narrow = await realTokens('openid');
    const res = await request(app).get('/email').set('Authorization', `Bearer ${narrow.access_token}`).expect(403);
    expect(res.headers['www-authenticate']).toContain('error="insufficient_scope"');
    // One challenge naming every scope needed, the granted one included (MCP 2026-07-28), so a step-up keeps it.
    expect(res.headers['www-authenticate']).toContain('scope="openid email"');
    const wide = await realTokens('openid email');
    await request(app).get('/email').set('Authorization', `Bearer ${wide.access_token}`).expect(200);
  });

  it('expires with the proxy clock: cached and never-seen tokens alike', async () => {
    const a = await realTokens();
    await request(app).post('/mcp').set('Authorization', `Bearer ${a.access_token}`).expect(200); // now cached
    const b = await tokenRequest(issuer, { grant_type: 'refresh_token', refresh_token: a.refresh_token, client_id: client.client_id });
    expect(b.status).toBe(200);
    try {
      skew.ms = (3600 + 5) * 1000;
      await expectInvalidToken(app, a.access_token);
      await expectInvalidToken(app, b.body.access_token);
    } finally {
      skew.ms = 0;
    }
    await request(app).post('/mcp').set('Authorization', `Bearer ${b.body.access_token}`).expect(200);
  });
});

describe('secret rotation', () => {
  function appWith(secret: string[]): Express {
    const o = createOAuthProxy({ ...baseOptions(), secret, store: new MemoryStore() });
    others.push(o);
    const a = express();
    a.all('/mcp', o.requireSession(), (_req, res) => {
      res.json({ ok: true });
    });
    return a;
  }

  it('a token signed with the old secret (second in the array) still verifies; with a removed secret it does not', async () => {
    const { access_token: real } = await realTokens(); // signed with TEST_SECRET, with its kid
    const noKid = await forge();
    const rotated = appWith([OTHER_SECRET, TEST_SECRET]);
    await request(rotated).post('/mcp').set('Authorization', `Bearer ${real}`).expect(200);
    await request(rotated).post('/mcp').set('Authorization', `Bearer ${noKid}`).expect(200);
    const removed = appWith([OTHER_SECRET]);
    await expectInvalidToken(removed, real);
    await expectInvalidToken(removed, noKid);
  });
});

describe('standalone requireSession()', () => {
  it('throws a clear TypeError when several proxies exist, and works with { proxy }', async () => {
    expect(() => requireSession()).toThrow(TypeError);
    expect(() => requireSession()).toThrow(/OAuth proxies exist in this process; pass \{ proxy \}/);
    expect(() => requireSession({ proxy: {} as OAuthProxy })).toThrow(TypeError);
    const a = express();
    a.all('/mcp', requireSession({ proxy: oauth, scopes: ['openid'] }), (req, res) => {
      res.json({ sub: (req.auth!.extra as { sub: string }).sub });
    });
    const { access_token } = await realTokens();
    expect((await request(a).post('/mcp').set('Authorization', `Bearer ${access_token}`).expect(200)).body.sub).toBe('alice');
    await request(a).post('/mcp').expect(401);
  });
});

describe('hot path', () => {
  it('makes no store call unless the handler asks for an upstream token', async () => {
    const { access_token } = await realTokens();
    counting.calls.length = 0;
    for (let i = 0; i < 20; i++) await request(app).post('/mcp').set('Authorization', `Bearer ${access_token}`).expect(200);
    expect(counting.calls).toEqual([]);
    const res = await request(app).get('/upstream').set('Authorization', `Bearer ${access_token}`).expect(200);
    expect(typeof res.body.token).toBe('string');
    expect(counting.calls.length).toBeGreaterThanOrEqual(1);
    expect(counting.calls).toContain('get');
  });
});
