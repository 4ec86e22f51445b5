import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import net from 'node:net';
import { decodeJwt } from 'jose';
import { startStack, type Stack } from '../helpers/stack.js';
import { pkcePair, registerClient, signIn, tokenRequest, type RegisteredTestClient } from '../helpers/signin.js';

/**
 * POST /token with real codes: each code comes from a sign-in at the real
 * oidc-provider IdP through the proxy, with a PKCE pair the test owns.
 */
const TTL = 1234;
let stack: Stack;
let pub: RegisteredTestClient;
let other: RegisteredTestClient;

beforeAll(async () => {
  stack = await startStack({ proxy: { accessTokenTtl: TTL } });
  pub = await registerClient(stack.issuer);
  other = await registerClient(stack.issuer);
});
afterAll(async () => {
  await stack.close();
});

/** Every token-endpoint error: RFC 6749 §5.2 JSON, never cached, nothing but error and error_description. */
function expectOAuthError(res: { status: number; headers: Headers; body: any }, status: number, error: string): void {
  expect({ status: res.status, error: res.body?.error }).toEqual({ status, error });
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  expect(res.headers.get('cache-control')).toBe('no-store');
  expect(typeof res.body.error_description).toBe('string');
  expect(Object.keys(res.body).sort()).toEqual(['error', 'error_description']);
  expect(JSON.stringify(res.body)).not.toMatch(/\n\s+at |mop_code_|mop_secret_/);
}

const redeem = (
  client: RegisteredTestClient,
  s: { code: string; verifier: string; redirectUri: string },
  over: Record<string, string> = {},
  headers: Record<string, string> = {},
) => {
  const form: Record<string, string> = {
    grant_type: 'authorization_code',
    code: s.code,
    code_verifier: s.verifier,
    redirect_uri: s.redirectUri,
    client_id: client.client_id,
    ...over,
  };
  for (const [k, v] of Object.entries(form)) if (v === '') delete form[k];
  return tokenRequest(stack.issuer, form, headers);
};

/** An MCP initialize request with a bearer token; returns the HTTP status. */
async function mcpStatus(token: string): Promise<{ status: number; challenge: string | null }> {
  const res = await fetch(stack.mcpUrl, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } },
    }),
  });
  await res.arrayBuffer();
  return { status: res.status, challenge: res.headers.get('www-authenticate') };
}

describe('authorization_code grant', () => {
  it('issues Bearer tokens with no-store, expires_in = accessTokenTtl and the granted scope', async () => {
    const s = await signIn(stack, pub, { login: 'alice', scope: 'openid email' });
    expect(s.iss).toBe(stack.issuer);
    const res = await redeem(pub, s);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.body.token_type).toBe('Bearer');
    expect(res.body.expires_in).toBe(TTL);
    expect(res.body.scope).toBe('openid email');
    expect(res.body.refresh_token).toMatch(/^mop_rt_/);
    const claims = decodeJwt(res.body.access_token);
    expect(claims.exp! - claims.iat!).toBe(TTL);
    expect(claims.scope).toBe('openid email');
    expect(claims.client_id).toBe(pub.client_id);
    expect((await mcpStatus(res.body.access_token)).status).toBe(200);
  });

  // Issue 12, finding 6: the upstream claims (email, name, employee id, roles) travelled in cleartext in the token.
  it('the client cannot read the upstream claims in the access token (they are sealed)', async () => {
    const s = await signIn(stack, pub, { login: 'alice', scope: 'openid email profile' });
    const res = await redeem(pub, s);
    expect(res.status).toBe(200);
    const claims = decodeJwt(res.body.access_token);
    expect(typeof claims.upc).toBe('string');
    expect(claims.upc).toMatch(/^v1\./);
    const readable = JSON.stringify(claims) + Buffer.from(res.body.access_token.split('.')[1], 'base64url').toString();
    expect(readable).not.toMatch(/employee_id|department|"email"|"name"|@/);
    expect((await mcpStatus(res.body.access_token)).status).toBe(200); // requireSession still opens them (the tools see them, see mcp-sdk.test.ts)
  });

  it('without code_verifier → invalid_request', async () => {
    const s = await signIn(stack, pub, { login: 'alice' });
    expectOAuthError(await redeem(pub, s, { code_verifier: '' }), 400, 'invalid_request');
  });

  it('with a wrong or malformed code_verifier → invalid_grant', async () => {
    const s = await signIn(stack, pub, { login: 'alice' });
    expectOAuthError(await redeem(pub, s, { code_verifier: pkcePair().verifier }), 400, 'invalid_grant');
    expectOAuthError(await redeem(pub, s, { code_verifier: 'short' }), 400, 'invalid_grant');
  });

  it('a code issued to another client → invalid_grant', async () => {
    const s = await signIn(stack, pub, { login: 'alice' });
    expectOAuthError(await redeem(other, s, { redirect_uri: other.redirect_uris[0]! }), 400, 'invalid_grant');
    expectOAuthError(await redeem(other, s, { redirect_uri: '' }), 400, 'invalid_grant');
  });

  it('a different redirect_uri → invalid_grant', async () => {
    const s = await signIn(stack, pub, { login: 'alice' });
    expectOAuthError(await redeem(pub, s, { redirect_uri: 'http://127.0.0.1:1/elsewhere' }), 400, 'invalid_grant');
  });

  // Issue 12, finding 4: a replay used to end the session whoever presented the code, and even the legitimate client's own
  // parallel retries. Now only the same client with the right verifier, after the retry window, ends it (see below).
  it('a replayed code by the same client with the right verifier after the retry window → invalid_grant, and what the first redemption issued is revoked', async () => {
    let skew = 0;
    const skewed = await startStack({ proxy: { accessTokenTtl: TTL, clock: () => Date.now() + skew } });
    try {
      const client = await registerClient(skewed.issuer);
      const s = await signIn(skewed, client, { login: 'bob' });
      const redeemAt = (over: Record<string, string> = {}) =>
        tokenRequest(skewed.issuer, {
          grant_type: 'authorization_code',
          code: s.code,
          code_verifier: s.verifier,
          redirect_uri: s.redirectUri,
          client_id: client.client_id,
          ...over,
        });
      const first = await redeemAt();
      expect(first.status).toBe(200);
      skew = 31_000; // past refreshTokenGracePeriod (30 s), the retry window
      const revocations = skewed.idp.counters.revocation;
      expectOAuthError(await redeemAt({ code_verifier: pkcePair().verifier }), 400, 'invalid_grant'); // wrong verifier: nothing happens
      expect(skewed.idp.counters.revocation).toBe(revocations);

      const replay = await redeemAt();
      expectOAuthError(replay, 400, 'invalid_grant');
      expect(replay.body.error_description).toMatch(/revoked/);
      // The session is ended everywhere, including the upstream refresh token at the IdP.
      expect(skewed.idp.counters.revocation).toBeGreaterThan(revocations);
      const after = await fetch(skewed.mcpUrl, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${first.body.access_token}`,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
        },
        body: '{}',
      });
      expect(after.status).toBe(401);
      expect(after.headers.get('www-authenticate')).toContain('error="invalid_token"');
      expectOAuthError(
        await tokenRequest(skewed.issuer, {
          grant_type: 'refresh_token',
          refresh_token: first.body.refresh_token,
          client_id: client.client_id,
        }),
        400,
        'invalid_grant',
      );
    } finally {
      await skewed.close();
    }
  });

  it('a used code presented by another client → plain invalid_grant; the session lives on', async () => {
    const s = await signIn(stack, pub, { login: 'bob' });
    const first = await redeem(pub, s);
    expect(first.status).toBe(200);
    const revocations = stack.idp.counters.revocation;
    const replay = await redeem(other, s, { redirect_uri: other.redirect_uris[0]! });
    expectOAuthError(replay, 400, 'invalid_grant');
    expect(replay.body.error_description).not.toMatch(/revoked/);
    expectOAuthError(await redeem(pub, s, { code_verifier: pkcePair().verifier }), 400, 'invalid_grant'); // the public client_id without the verifier
    expect(stack.idp.counters.revocation).toBe(revocations);
    expect((await mcpStatus(first.body.access_token)).status).toBe(200);
  });

  it('50 parallel redemptions by the legitimate client: one wins, the rest get invalid_grant, and the winner stays signed in', async () => {
    const s = await signIn(stack, pub, { login: 'alice' });
    const results = await Promise.all(Array.from({ length: 50 }, () => redeem(pub, s)));
    const won = results.filter((r) => r.status === 200);
    expect(won).toHaveLength(1);
    for (const r of results.filter((x) => x.status !== 200)) expectOAuthError(r, 400, 'invalid_grant');
    expect((await mcpStatus(won[0]!.body.access_token)).status).toBe(200);
    const refreshed = await tokenRequest(stack.issuer, {
      grant_type: 'refresh_token',
      refresh_token: won[0]!.body.refresh_token,
      client_id: pub.client_id,
    });
    expect(refreshed.status).toBe(200);
    // A retry a moment later (inside the window) still does not end the session.
    expectOAuthError(await redeem(pub, s), 400, 'invalid_grant');
    expect((await mcpStatus(refreshed.body.access_token)).status).toBe(200);
  });

  it('an unknown code → invalid_grant', async () => {
    expectOAuthError(
      await redeem(pub, { code: 'mop_code_unknown', verifier: pkcePair().verifier, redirectUri: pub.redirect_uris[0]! }),
      400,
      'invalid_grant',
    );
  });
});

describe('grant types and parameters', () => {
  it('an unknown grant_type → unsupported_grant_type; none → invalid_request', async () => {
    expectOAuthError(
      await tokenRequest(stack.issuer, { grant_type: 'password', client_id: pub.client_id, username: 'a', password: 'b' }),
      400,
      'unsupported_grant_type',
    );
    expectOAuthError(
      await tokenRequest(stack.issuer, { grant_type: 'client_credentials', client_id: pub.client_id }),
      400,
      'unsupported_grant_type',
    );
    expectOAuthError(await tokenRequest(stack.issuer, { client_id: pub.client_id }), 400, 'invalid_request');
  });

  it('a repeated parameter → invalid_request', async () => {
    const res = await fetch(`${stack.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `grant_type=authorization_code&code=a&code=b&code_verifier=${pkcePair().verifier}&client_id=${pub.client_id}`,
    });
    expectOAuthError({ status: res.status, headers: res.headers, body: await res.json() }, 400, 'invalid_request');
  });

  it('a wrong resource → invalid_target', async () => {
    expectOAuthError(
      await tokenRequest(stack.issuer, {
        grant_type: 'refresh_token',
        refresh_token: 'x',
        client_id: pub.client_id,
        resource: 'https://other.example.com/mcp',
      }),
      400,
      'invalid_target',
    );
  });

  it('no client_id or an unknown one → 401 invalid_client', async () => {
    expectOAuthError(await tokenRequest(stack.issuer, { grant_type: 'refresh_token', refresh_token: 'x' }), 401, 'invalid_client');
    expectOAuthError(
      await tokenRequest(stack.issuer, { grant_type: 'refresh_token', refresh_token: 'x', client_id: 'mop_client_nope' }),
      401,
      'invalid_client',
    );
  });
});

describe('confidential clients', () => {
  let conf: RegisteredTestClient;
  beforeAll(async () => {
    conf = await registerClient(stack.issuer, { token_endpoint_auth_method: 'client_secret_basic' });
  });

  const basic = (id: string, secret: string) => ({ authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}` });
  /** Percent-encodes every character: a server that does not URL-decode Basic credentials cannot match. */
  const encodeAll = (s: string) => [...Buffer.from(s, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');

  it('a wrong secret → 401 invalid_client with no-store, by post and by Basic', async () => {
    const s = await signIn(stack, conf, { login: 'alice' });
    const post = await redeem(conf, s, { client_secret: `${conf.client_secret}x` });
    expectOAuthError(post, 401, 'invalid_client');
    const viaBasic = await redeem(conf, s, { client_id: '' }, basic(conf.client_id, 'mop_secret_wrong'));
    expectOAuthError(viaBasic, 401, 'invalid_client');
    expect(viaBasic.headers.get('www-authenticate')).toMatch(/^Basic /);
    expectOAuthError(await redeem(conf, s), 401, 'invalid_client'); // no secret at all
    // The code survived the failed attempts: the right secret, by the registered method, still redeems it.
    expect((await redeem(conf, s, { client_id: '' }, basic(conf.client_id, conf.client_secret!))).status).toBe(200);
  });

  // Issue 12, finding 7: the registered token_endpoint_auth_method was not enforced.
  it('only the registered method is accepted: basic not by post, post not by Basic, public without a secret', async () => {
    const post = await registerClient(stack.issuer, { token_endpoint_auth_method: 'client_secret_post' });
    const s1 = await signIn(stack, conf, { login: 'alice' });
    const viaPost = await redeem(conf, s1, { client_secret: conf.client_secret! });
    expectOAuthError(viaPost, 401, 'invalid_client');
    expect(viaPost.body.error_description).toContain('client_secret_basic');
    const s2 = await signIn(stack, post, { login: 'alice' });
    const viaBasic = await redeem(post, s2, { client_id: '' }, basic(post.client_id, post.client_secret!));
    expectOAuthError(viaBasic, 401, 'invalid_client');
    expect(viaBasic.body.error_description).toContain('client_secret_post');
    const s3 = await signIn(stack, pub, { login: 'alice' });
    expectOAuthError(await redeem(pub, s3, { client_secret: 'anything' }), 401, 'invalid_client');
    // At revoke too.
    const revoke = await fetch(`${stack.issuer}/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: 'x', client_id: conf.client_id, client_secret: conf.client_secret! }).toString(),
    });
    expectOAuthError({ status: revoke.status, headers: revoke.headers, body: await revoke.json() }, 401, 'invalid_client');
    // And each by its own method works; the codes survived the refusals.
    expect((await redeem(conf, s1, { client_id: '' }, basic(conf.client_id, conf.client_secret!))).status).toBe(200);
    expect((await redeem(post, s2, { client_secret: post.client_secret! })).status).toBe(200);
    expect((await redeem(pub, s3)).status).toBe(200);
  });

  it('client_secret_basic credentials are URL-decoded (RFC 6749 §2.3.1)', async () => {
    const s = await signIn(stack, conf, { login: 'alice' });
    const res = await redeem(conf, s, { client_id: '' }, basic(encodeAll(conf.client_id), encodeAll(conf.client_secret!)));
    expect(res.status).toBe(200);
    expect(res.body.token_type).toBe('Bearer');
  });

  it('Basic credentials that decode to something else are refused', async () => {
    const s = await signIn(stack, conf, { login: 'alice' });
    // Encoded twice: decodes once to "%6D%6F…", not to the secret.
    expectOAuthError(
      await redeem(conf, s, { client_id: '' }, basic(conf.client_id, encodeAll(conf.client_secret!).replace(/%/g, '%25'))),
      401,
      'invalid_client',
    );
    // "+" is a form-encoded space, not a literal plus.
    expectOAuthError(await redeem(conf, s, { client_id: '' }, basic(conf.client_id, `${conf.client_secret}+`)), 401, 'invalid_client');
    // Broken percent-encoding.
    expectOAuthError(await redeem(conf, s, { client_id: '' }, basic(conf.client_id, `${conf.client_secret}%ZZ`)), 401, 'invalid_client');
    // Basic and client_secret at once.
    expectOAuthError(
      await redeem(conf, s, { client_id: '', client_secret: conf.client_secret! }, basic(conf.client_id, conf.client_secret!)),
      400,
      'invalid_request',
    );
    expect((await redeem(conf, s, { client_id: '' }, basic(conf.client_id, conf.client_secret!))).status).toBe(200);
  });

  it('a public client may not present a Basic secret', async () => {
    const s = await signIn(stack, pub, { login: 'alice' });
    expectOAuthError(await redeem(pub, s, { client_id: '' }, basic(pub.client_id, 'anything')), 401, 'invalid_client');
  });
});

describe('hygiene', () => {
  it('never logs codes, tokens or secrets', () => {
    expect(stack.logs.text()).not.toMatch(/mop_code_|mop_rt_|mop_secret_|eyJ/);
    expect(stack.logs.text()).not.toContain(stack.idp.clientSecret);
  });
});

// Issue 12, finding 9: an aborted request was logged at error level as "unexpected error".
describe('a request the client aborts', () => {
  it('is logged at debug as a client abort, never as an unexpected error', async () => {
    const { port } = new URL(stack.issuer);
    const aborted = () => stack.logs.lines.filter((l) => l.msg === 'client aborted the request');
    const before = aborted().length;
    const socket = net.connect(Number(port), '127.0.0.1');
    await new Promise<void>((r) => socket.once('connect', () => r()));
    socket.write(
      `POST /oauth/token HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 4000\r\n\r\ngrant_type=authorization_code&code=`,
    );
    await new Promise((r) => setTimeout(r, 100));
    socket.destroy();
    for (let i = 0; i < 100 && aborted().length === before; i++) await new Promise((r) => setTimeout(r, 50));
    expect(
      aborted()
        .slice(before)
        .map((l) => l.level),
    ).toEqual(['debug']);
    expect(stack.logs.lines.filter((l) => l.level === 'error')).toEqual([]);
  });
});
