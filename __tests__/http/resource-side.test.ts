import { describe, it, expect, afterAll } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import express, { type Express } from 'express';
import request from 'supertest';
import { SignJWT } from 'jose';
import {
  createOAuthProxy,
  validateHostAndOrigin,
  type OAuthProxy,
  type OAuthProxyOptions,
  type RequireSessionOptions,
} from '../../lib/index.js';
import { TEST_SECRET, TEST_VAULT_KEY, recordingLogger } from '../helpers/proxy.js';

/**
 * The resource side as MCP 2026-07-28 asks: the 401 and 403 challenges carry
 * `scope` (never offline_access), PRM does not list offline_access, a scope
 * hierarchy is honoured, and the MCP route can validate Host and Origin.
 * Tokens are minted with the proxy's real secret and verified by the real middleware.
 */
const ISSUER = 'http://127.0.0.1:9/oauth';
const RESOURCE = 'http://127.0.0.1:9/mcp';
const PRM = 'http://127.0.0.1:9/.well-known/oauth-protected-resource/mcp';
const proxies: OAuthProxy[] = [];
afterAll(async () => {
  for (const p of proxies) await p.close();
});

function setup(over: Partial<OAuthProxyOptions> = {}, routes: Record<string, RequireSessionOptions> = { '/mcp': {} }): Express {
  const oauth = createOAuthProxy({
    issuer: ISSUER,
    provider: 'http://127.0.0.1:9',
    clientId: 'proxy-client',
    clientSecret: 'proxy-client-secret',
    secret: TEST_SECRET,
    encryptionKey: TEST_VAULT_KEY,
    logger: recordingLogger().logger,
    consent: { enabled: false },
    registration: { rateLimit: false },
    scopes: ['openid', 'profile', 'email', 'offline_access'],
    ...over,
  });
  proxies.push(oauth);
  const app = express();
  app.use(oauth.wellKnown);
  app.use('/oauth', oauth);
  for (const [path, opts] of Object.entries(routes))
    app.all(path, oauth.requireSession(opts), (_req, res) => {
      res.json({ ok: true });
    });
  return app;
}

async function mint(scope: string): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    iss: ISSUER,
    aud: RESOURCE,
    sub: 'alice',
    sid: `sid_${randomUUID()}`,
    client_id: 'c1',
    scope,
    iat: now,
    exp: now + 600,
    jti: randomUUID(),
  })
    .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' })
    .sign(new TextEncoder().encode(TEST_SECRET));
}

/** The auth-params of a Bearer challenge, as a map. */
function challenge(header: string | undefined): Record<string, string> {
  expect(header).toMatch(/^Bearer /);
  return Object.fromEntries([...header!.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
}

describe('scope in the 401 challenge', () => {
  it('a route without required scopes names the baseline (the configured scopes without offline_access)', async () => {
    const res = await request(setup()).post('/mcp').expect(401);
    expect(challenge(res.headers['www-authenticate'])).toEqual({ resource_metadata: PRM, scope: 'openid profile email' });
  });

  it('a route with required scopes names those; an invalid token gets the same scope with error="invalid_token"', async () => {
    const app = setup({}, { '/mail': { scopes: ['email'] } });
    expect(challenge((await request(app).post('/mail').expect(401)).headers['www-authenticate'])).toEqual({
      resource_metadata: PRM,
      scope: 'email',
    });
    const bad = challenge((await request(app).post('/mail').set('Authorization', 'Bearer nope').expect(401)).headers['www-authenticate']);
    expect(bad).toMatchObject({ error: 'invalid_token', scope: 'email', resource_metadata: PRM });
  });

  it('offline_access is never in a challenge, even when a route requires it', async () => {
    const app = setup({}, { '/offline': { scopes: ['offline_access', 'profile'] } });
    const res = await request(app).post('/offline').expect(401);
    expect(challenge(res.headers['www-authenticate']).scope).toBe('profile');
  });
});

describe('protected resource metadata', () => {
  it('scopes_supported leaves out offline_access, which is still requested upstream; resource_name defaults to the resource host', async () => {
    const app = setup();
    const prm = (await request(app).get('/.well-known/oauth-protected-resource/mcp').expect(200)).body;
    expect(prm.scopes_supported).toEqual(['openid', 'profile', 'email']);
    expect(prm.resource_name).toBe('127.0.0.1:9');
    const as = (await request(app).get('/.well-known/oauth-authorization-server/oauth').expect(200)).body;
    expect(as.scopes_supported).toContain('offline_access');
  });

  it('resource_name is the resourceName option', async () => {
    const prm = (
      await request(setup({ resourceName: 'Acme Docs' }))
        .get('/.well-known/oauth-protected-resource')
        .expect(200)
    ).body;
    expect(prm.resource_name).toBe('Acme Docs');
  });
});

describe('scope hierarchy', () => {
  const hierarchy = {
    scopes: ['openid', 'mcp:read', 'mcp:write', 'mcp:admin'],
    scopeHierarchy: { 'mcp:admin': ['mcp:write'], 'mcp:write': ['mcp:read'] },
  };
  const routes = { '/read': { scopes: ['mcp:read'] }, '/write': { scopes: ['mcp:write'] }, '/admin': { scopes: ['mcp:admin'] } };

  it('a token with mcp:write passes a route that needs mcp:read, transitively from mcp:admin too', async () => {
    const app = setup(hierarchy, routes);
    await request(app)
      .post('/read')
      .set('Authorization', `Bearer ${await mint('openid mcp:write')}`)
      .expect(200);
    await request(app)
      .post('/read')
      .set('Authorization', `Bearer ${await mint('mcp:admin')}`)
      .expect(200);
    await request(app)
      .post('/write')
      .set('Authorization', `Bearer ${await mint('mcp:admin')}`)
      .expect(200);
  });

  it('without the hierarchy option, mcp:write does not imply mcp:read', async () => {
    const app = setup({ scopes: hierarchy.scopes }, routes);
    await request(app)
      .post('/read')
      .set('Authorization', `Bearer ${await mint('openid mcp:write')}`)
      .expect(403);
  });

  it('a 403 step-up names every scope needed, the granted ones included, with implied ones left out', async () => {
    const app = setup(hierarchy, routes);
    const res = await request(app)
      .post('/write')
      .set('Authorization', `Bearer ${await mint('openid mcp:read offline_access')}`)
      .expect(403);
    expect(challenge(res.headers['www-authenticate'])).toMatchObject({
      error: 'insufficient_scope',
      scope: 'openid mcp:write',
      resource_metadata: PRM,
    });
  });

  it('the baseline of a 401 leaves out scopes implied by others', async () => {
    const res = await request(setup(hierarchy)).post('/mcp').expect(401);
    expect(challenge(res.headers['www-authenticate']).scope).toBe('openid mcp:admin');
  });

  it('a hierarchy with a bad scope token is refused at creation, naming the option', () => {
    expect(() => setup({ scopeHierarchy: { 'mcp:write': ['bad scope'] } })).toThrow(/"scopeHierarchy\.mcp:write\.0"/);
  });
});

describe('Host and Origin validation', () => {
  it('requireSession({ allowedHosts }): a foreign Host gets 403 even with a valid token (DNS rebinding)', async () => {
    const app = setup({}, { '/mcp': { allowedHosts: ['localhost', '127.0.0.1'] } });
    const token = await mint('openid');
    await request(app).post('/mcp').set('Host', '127.0.0.1:3000').set('Authorization', `Bearer ${token}`).expect(200);
    await request(app).post('/mcp').set('Host', 'LOCALHOST:3000').set('Authorization', `Bearer ${token}`).expect(200);
    const evil = await request(app).post('/mcp').set('Host', 'evil.example.com').set('Authorization', `Bearer ${token}`).expect(403);
    expect(evil.body.error_description).toContain('evil.example.com');
    await request(app).post('/mcp').set('Host', 'localhost.evil.example.com:3000').set('Authorization', `Bearer ${token}`).expect(403);
  });

  it('Origin: absent passes, a same-host origin passes by default, others and "null" get 403', async () => {
    const app = setup({}, { '/mcp': { allowedHosts: ['localhost'] } });
    const token = await mint('openid');
    const post = (origin?: string) => {
      const r = request(app).post('/mcp').set('Host', 'localhost:3000').set('Authorization', `Bearer ${token}`);
      return origin === undefined ? r : r.set('Origin', origin);
    };
    await post().expect(200);
    await post('http://localhost:6274').expect(200);
    await post('https://evil.example.com').expect(403);
    await post('null').expect(403);
  });

  it('allowedOrigins lists exact origins; "*" admits any', async () => {
    const app = setup(
      {},
      {
        '/a': { allowedHosts: ['localhost'], allowedOrigins: ['https://app.example.com'] },
        '/b': { allowedHosts: ['localhost'], allowedOrigins: '*' },
      },
    );
    const token = await mint('openid');
    const post = (path: string, origin: string) =>
      request(app).post(path).set('Host', 'localhost').set('Origin', origin).set('Authorization', `Bearer ${token}`);
    await post('/a', 'https://app.example.com').expect(200);
    await post('/a', 'http://localhost:6274').expect(403);
    await post('/b', 'https://anything.example').expect(200);
  });

  it('the host check runs before the token check: no challenge is handed to a foreign host', async () => {
    const app = setup({}, { '/mcp': { allowedHosts: ['localhost'] } });
    const res = await request(app).post('/mcp').set('Host', 'evil.example.com').expect(403);
    expect(res.headers['www-authenticate']).toBeUndefined();
  });

  it('validateHostAndOrigin() is the same check as a middleware of its own', async () => {
    const app = express();
    app.all('/mcp', validateHostAndOrigin({ allowedHosts: ['mcp.example.com'] }), (_req, res) => {
      res.json({ ok: true });
    });
    await request(app).post('/mcp').set('Host', 'mcp.example.com').expect(200);
    await request(app).post('/mcp').set('Host', 'evil.example.com').expect(403);
    await request(app).post('/mcp').set('Host', 'mcp.example.com').set('Origin', 'https://evil.example.com').expect(403);
  });

  it('bad options throw a TypeError naming the option', () => {
    expect(() => validateHostAndOrigin({ allowedHosts: [] })).toThrow(/"allowedHosts" must be a non-empty array/);
    expect(() => validateHostAndOrigin({ allowedHosts: ['localhost:3000'] })).toThrow(/without port/);
    expect(() => validateHostAndOrigin({ allowedHosts: ['localhost'], allowedOrigins: ['https://app.example.com/path'] })).toThrow(
      /"allowedOrigins"/,
    );
    expect(() => setup({}, { '/mcp': { allowedOrigins: '*' } })).toThrow(/needs "opts.allowedHosts"/);
  });
});
