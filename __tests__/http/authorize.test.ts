import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import request from 'supertest';
import type { Express } from 'express';
import { MemoryStore, type OAuthProxy } from '../../lib/index.js';
import { proxyApp } from '../helpers/proxy.js';
import { startTestIdp, type TestIdp } from '../helpers/idp.js';
import { pkcePair } from '../helpers/signin.js';

/**
 * GET /authorize refusals: until the client and its exact redirect URI are
 * known good, every error is an HTML page (never a redirect); after that,
 * errors go back to the validated redirect URI with `error`, `state` and `iss`.
 * A valid request goes straight to the real (oidc-provider) IdP.
 */
const ISSUER = 'http://127.0.0.1:9/oauth';
const RESOURCE = 'https://mcp.example.com/mcp';
const WEB = 'https://app.example.com/cb';
const LOOPBACK = 'http://127.0.0.1:8123/callback';
const STATE = 'client-state-Zm9vYmFy';
const { challenge: CHALLENGE } = pkcePair();

let idp: TestIdp;
let app: Express;
let oauth: OAuthProxy;
let clientId: string;
/** The same proxy with `allowedRedirectUris`: the operator vouches for the redirect URIs, so errors may be redirected. */
let trusted: { app: Express; oauth: OAuthProxy; clientId: string };

beforeAll(async () => {
  idp = await startTestIdp({ redirectUri: `${ISSUER}/callback` });
  ({ app, oauth } = proxyApp({
    provider: idp.issuer,
    clientId: idp.clientId,
    clientSecret: idp.clientSecret,
    resource: RESOURCE,
    scopes: ['openid', 'profile'],
  }));
  const reg = await request(app)
    .post('/oauth/register')
    .send({ redirect_uris: [WEB, LOOPBACK], token_endpoint_auth_method: 'none' })
    .expect(201);
  clientId = reg.body.client_id;
  const t = proxyApp({
    provider: idp.issuer,
    clientId: idp.clientId,
    clientSecret: idp.clientSecret,
    resource: RESOURCE,
    scopes: ['openid', 'profile'],
    allowedRedirectUris: [WEB, /http:\/\/127\.0\.0\.1:\d+\/callback/, 'https://single.example.com/cb'],
  });
  const treg = await request(t.app)
    .post('/oauth/register')
    .send({ redirect_uris: [WEB, LOOPBACK], token_endpoint_auth_method: 'none' })
    .expect(201);
  trusted = { ...t, clientId: treg.body.client_id };
});
afterAll(async () => {
  await oauth.close();
  await trusted.oauth.close();
  await idp.close();
});

/** The authorize query with good defaults; `undefined` drops a parameter. */
function authorize(over: Record<string, string | undefined> = {}, extra = '', on: { app: Express; clientId: string } = { app, clientId }) {
  const params: Record<string, string | undefined> = {
    response_type: 'code',
    client_id: on.clientId,
    redirect_uri: WEB,
    state: STATE,
    code_challenge: CHALLENGE,
    code_challenge_method: 'S256',
    ...over,
  };
  const qs = new URLSearchParams(Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined)).toString();
  return request(on.app).get(`/oauth/authorize?${qs}${extra}`);
}

function expectErrorPage(res: request.Response, error: string): void {
  expect(res.status).toBe(400);
  expect(res.headers['content-type']).toMatch(/^text\/html/);
  expect(res.headers.location).toBeUndefined();
  expect(res.text).toContain(`(${error})`);
  // Hygiene: no stack trace, no upstream secret.
  expect(res.text).not.toMatch(/\n\s+at /);
  expect(res.text).not.toContain(idp.clientSecret);
}

function expectRedirectError(res: request.Response, redirectUri: string, error: string, state: string | null = STATE): URL {
  expect(res.status).toBe(303);
  const loc = new URL(res.headers.location!);
  expect(`${loc.origin}${loc.pathname}`).toBe(redirectUri);
  expect(loc.searchParams.get('error')).toBe(error);
  expect(loc.searchParams.get('state')).toBe(state);
  expect(loc.searchParams.get('iss')).toBe(ISSUER);
  expect(loc.searchParams.has('code')).toBe(false);
  return loc;
}

describe('before the redirect URI is validated: error pages, never redirects', () => {
  it('unknown client_id', async () => {
    expectErrorPage(await authorize({ client_id: 'mop_client_doesnotexist' }), 'invalid_client');
  });

  it('missing client_id', async () => {
    expectErrorPage(await authorize({ client_id: undefined }), 'invalid_request');
  });

  it('missing redirect_uri when the client registered several', async () => {
    expectErrorPage(await authorize({ redirect_uri: undefined }), 'invalid_request');
  });

  it.each([
    ['a different path', 'https://app.example.com/cb2'],
    ['an extra query', 'https://app.example.com/cb?extra=1'],
    ['an added trailing slash', 'https://app.example.com/cb/'],
    ['a different host', 'https://evil.example.com/cb'],
    ['http instead of https', 'http://app.example.com/cb'],
    ['https instead of loopback http', 'https://127.0.0.1:8123/callback'],
    ['loopback host swapped to localhost', 'http://localhost:8123/callback'],
    ['loopback path changed', 'http://127.0.0.1:8123/callback/other'],
  ])('redirect_uri with %s', async (_name, redirectUri) => {
    expectErrorPage(await authorize({ redirect_uri: redirectUri }), 'invalid_request');
  });

  it('loopback host swapped to 127.0.0.1 for a client that registered localhost', async () => {
    const reg = await request(app)
      .post('/oauth/register')
      .send({ redirect_uris: ['http://localhost:8123/callback'], token_endpoint_auth_method: 'none' })
      .expect(201);
    expectErrorPage(await authorize({ client_id: reg.body.client_id, redirect_uri: 'http://127.0.0.1:8123/callback' }), 'invalid_request');
  });

  it('a bad redirect_uri wins over every later error (no redirect even with response_type=token)', async () => {
    expectErrorPage(
      await authorize({ redirect_uri: 'https://evil.example.com/cb', response_type: 'token', code_challenge: undefined }),
      'invalid_request',
    );
  });

  it('a repeated parameter', async () => {
    expectErrorPage(await authorize({}, `&client_id=${clientId}`), 'invalid_request');
    expectErrorPage(await authorize({}, '&state=second'), 'invalid_request');
    expectErrorPage(await authorize({}, `&redirect_uri=${encodeURIComponent(WEB)}`), 'invalid_request');
  });
});

// Issue 12, finding 3: these errors used to be redirected for every client, so with open registration the proxy was an
// open redirector to any URI an anonymous party registered. Now only a trusted redirect URI (allowedRedirectUris here,
// or a browser that approved the client, see consent.test.ts) gets them; the next block shows the page everyone else gets.
describe('after the redirect URI is validated, when it is trusted: errors go back with error, state and iss', () => {
  const authorizeTrusted = (over: Record<string, string | undefined> = {}) => authorize(over, '', trusted);
  it('missing code_challenge', async () => {
    expectRedirectError(await authorizeTrusted({ code_challenge: undefined }), WEB, 'invalid_request');
  });

  it('code_challenge_method plain or missing', async () => {
    expectRedirectError(await authorizeTrusted({ code_challenge_method: 'plain' }), WEB, 'invalid_request');
    expectRedirectError(await authorizeTrusted({ code_challenge_method: undefined }), WEB, 'invalid_request');
  });

  it.each([
    ['too short', 'abc'],
    ['not base64url', `${CHALLENGE.slice(0, 42)}+/=`],
    ['too long', 'a'.repeat(129)],
  ])('malformed code_challenge (%s)', async (_n, challenge) => {
    expectRedirectError(await authorizeTrusted({ code_challenge: challenge }), WEB, 'invalid_request');
  });

  it('response_type token (or missing)', async () => {
    expectRedirectError(await authorizeTrusted({ response_type: 'token' }), WEB, 'unsupported_response_type');
    expectRedirectError(await authorizeTrusted({ response_type: undefined }), WEB, 'unsupported_response_type');
  });

  it('a resource that is not this server → invalid_target', async () => {
    expectRedirectError(await authorizeTrusted({ resource: 'https://other.example.com/mcp' }), WEB, 'invalid_target');
    expectRedirectError(await authorizeTrusted({ resource: 'https://mcp.example.com/other' }), WEB, 'invalid_target');
    expectRedirectError(await authorizeTrusted({ resource: 'not a url' }), WEB, 'invalid_target');
  });

  it('no state sent: none comes back; an oversized state is refused and not echoed', async () => {
    expectRedirectError(await authorizeTrusted({ state: undefined, code_challenge: undefined }), WEB, 'invalid_request', null);
    expectRedirectError(await authorizeTrusted({ state: 'x'.repeat(2049) }), WEB, 'invalid_request', null);
  });

  it('goes back to the loopback port the request named (RFC 8252)', async () => {
    expectRedirectError(
      await authorizeTrusted({ redirect_uri: 'http://127.0.0.1:50123/callback', code_challenge: undefined }),
      'http://127.0.0.1:50123/callback',
      'invalid_request',
    );
  });

  it('uses the only registered redirect URI when none is sent', async () => {
    const reg = await request(trusted.app)
      .post('/oauth/register')
      .send({ redirect_uris: ['https://single.example.com/cb'], token_endpoint_auth_method: 'none' })
      .expect(201);
    expectRedirectError(
      await authorizeTrusted({ client_id: reg.body.client_id, redirect_uri: undefined, response_type: 'token' }),
      'https://single.example.com/cb',
      'unsupported_response_type',
    );
  });
});

describe('after the redirect URI is validated, for a self-registered client this browser never approved: error pages, never redirects (RFC 9700 §4.11.2)', () => {
  it.each([
    ['missing code_challenge', { code_challenge: undefined }, 'invalid_request'],
    ['code_challenge_method plain', { code_challenge_method: 'plain' }, 'invalid_request'],
    ['code_challenge_method missing', { code_challenge_method: undefined }, 'invalid_request'],
    ['malformed code_challenge', { code_challenge: 'abc' }, 'invalid_request'],
    ['response_type token', { response_type: 'token' }, 'unsupported_response_type'],
    ['response_type missing', { response_type: undefined }, 'unsupported_response_type'],
    ['a foreign resource', { resource: 'https://other.example.com/mcp' }, 'invalid_target'],
    ['an oversized state', { state: 'x'.repeat(2049) }, 'invalid_request'],
    [
      'a loopback redirect on another port',
      { redirect_uri: 'http://127.0.0.1:50123/callback', code_challenge: undefined },
      'invalid_request',
    ],
  ] as Array<[string, Record<string, string | undefined>, string]>)('%s', async (_name, over, error) => {
    expectErrorPage(await authorize(over), error);
  });
});

describe('a valid request goes straight to the upstream', () => {
  function expectUpstream(res: request.Response): URL {
    expect(res.status).toBe(303);
    expect(res.headers['cache-control']).toBe('no-store');
    const loc = new URL(res.headers.location!);
    expect(`${loc.origin}${loc.pathname}`).toBe(idp.endpoints.authorization);
    return loc;
  }

  it('with the proxy’s own state, nonce and PKCE, and <issuer>/callback', async () => {
    const res = await authorize({ resource: RESOURCE, scope: 'openid' });
    const loc = expectUpstream(res);
    const p = loc.searchParams;
    expect(p.get('client_id')).toBe(idp.clientId);
    expect(p.get('response_type')).toBe('code');
    expect(p.get('redirect_uri')).toBe(`${ISSUER}/callback`);
    expect(p.get('scope')).toBe('openid profile');
    expect(p.get('code_challenge_method')).toBe('S256');
    expect(p.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(p.get('code_challenge')).not.toBe(CHALLENGE);
    expect(p.get('state')).toMatch(/^[A-Za-z0-9_-]{43,}$/);
    expect(p.get('nonce')).toMatch(/^[A-Za-z0-9_-]{43,}$/);
    // Nothing of the client's request leaks upstream.
    expect(res.headers.location).not.toContain(STATE);
    expect(res.headers.location).not.toContain(CHALLENGE);
    expect(res.headers.location).not.toContain(clientId);
    expect(res.headers.location).not.toContain(encodeURIComponent(RESOURCE));
    // The upstream state is bound to this browser.
    expect(res.headers['set-cookie']).toBeDefined();
  });

  it('with a fresh state, nonce and challenge every time', async () => {
    const a = expectUpstream(await authorize()).searchParams;
    const b = expectUpstream(await authorize()).searchParams;
    for (const k of ['state', 'nonce', 'code_challenge']) expect(a.get(k)).not.toBe(b.get(k));
  });

  it('accepts a loopback redirect URI on another port (RFC 8252)', async () => {
    expectUpstream(await authorize({ redirect_uri: 'http://127.0.0.1:50123/callback' }));
    expectUpstream(await authorize({ redirect_uri: 'http://127.0.0.1/callback' }));
  });

  it('accepts resource with a trailing slash or an upper-case host', async () => {
    expectUpstream(await authorize({ resource: `${RESOURCE}/` }));
    expectUpstream(await authorize({ resource: 'https://MCP.Example.COM/mcp' }));
    expectUpstream(await authorize({ resource: 'HTTPS://mcp.example.com/mcp/' }));
  });
});

describe('upstream down', () => {
  it('is a 503 page, with no stack trace and no upstream secret', async () => {
    const down = proxyApp(); // the upstream is a closed port
    const reg = await request(down.app)
      .post('/oauth/register')
      .send({ redirect_uris: [WEB], token_endpoint_auth_method: 'none' })
      .expect(201);
    const qs = new URLSearchParams({
      response_type: 'code',
      client_id: reg.body.client_id,
      redirect_uri: WEB,
      state: STATE,
      code_challenge: CHALLENGE,
      code_challenge_method: 'S256',
    });
    const res = await request(down.app).get(`/oauth/authorize?${qs}`);
    expect(res.status).toBe(503);
    expect(res.headers.location).toBeUndefined();
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.text).toContain('temporarily_unavailable');
    expect(res.text).not.toMatch(/\n\s+at |ECONNREFUSED|proxy-client-secret/);
    await down.oauth.close();
  });
});

// Issue 12, finding 2: every anonymous GET /authorize used to write a browser session that lived 30 days, without bound or limit.
describe('anonymous authorize requests', () => {
  it('write one short-lived browser session that expires with authorizationTtl, never a durable record', async () => {
    const { app: a, oauth: o, store } = proxyApp({ consent: { enabled: true }, authorizeRateLimit: false }); // (its counter is short-lived too)
    try {
      const reg = await request(a)
        .post('/oauth/register')
        .send({ redirect_uris: [WEB], token_endpoint_auth_method: 'none' })
        .expect(201);
      const durable = store.size - store.shortLivedSize;
      const short = store.shortLivedSize;
      const res = await request(a).get('/oauth/authorize').query({
        response_type: 'code',
        client_id: reg.body.client_id,
        redirect_uri: WEB,
        code_challenge: CHALLENGE,
        code_challenge_method: 'S256',
      });
      expect(res.status).toBe(200);
      const cookie = (res.headers['set-cookie'] as unknown as string[]).find((c) => c.startsWith('mcp_oauth_proxy='))!;
      const expires = Date.parse(/Expires=([^;]+)/i.exec(cookie)![1]!);
      expect(expires).toBeGreaterThan(Date.now());
      expect(expires).toBeLessThan(Date.now() + 3600_000); // authorizationTtl (600 s), not consent.rememberFor (30 days)
      expect(store.shortLivedSize).toBe(short + 1);
      expect(store.size - store.shortLivedSize).toBe(durable);
    } finally {
      await o.close();
    }
  });

  it('are rate limited per address across instances on one store (authorize and consent together): 429 page with Retry-After', async () => {
    const store = new MemoryStore();
    const first = proxyApp({ store, consent: { enabled: true }, authorizeRateLimit: { windowMs: 60_000, limit: 3 } });
    const second = proxyApp({ store, consent: { enabled: true }, authorizeRateLimit: { windowMs: 60_000, limit: 3 } });
    try {
      const reg = await request(first.app)
        .post('/oauth/register')
        .send({ redirect_uris: [WEB], token_endpoint_auth_method: 'none' })
        .expect(201);
      const q = {
        response_type: 'code',
        client_id: reg.body.client_id,
        redirect_uri: WEB,
        code_challenge: CHALLENGE,
        code_challenge_method: 'S256',
      };
      await request(first.app).get('/oauth/authorize').query(q).expect(200);
      await request(second.app).get('/oauth/authorize').query(q).expect(200);
      await request(first.app).post('/oauth/consent').type('form').send({ txn: 'x', csrf: 'y', decision: 'approve' }).expect(403);
      const refused = await request(second.app).get('/oauth/authorize').query(q).set('X-Forwarded-For', '203.0.113.9');
      expect(refused.status).toBe(429);
      expect(refused.headers['content-type']).toMatch(/^text\/html/);
      expect(refused.headers.location).toBeUndefined();
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
      expect(refused.text).toContain('(too_many_requests)');
      await request(first.app).post('/oauth/consent').type('form').send({ txn: 'x', csrf: 'y' }).expect(429);
      // Other endpoints are not affected.
      await request(first.app).get('/.well-known/oauth-authorization-server/oauth').expect(200);
    } finally {
      await first.oauth.close();
      await second.oauth.close();
      await store.close();
    }
  });
});
