import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { MemoryStore } from '../../lib/index.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { registerClient, signIn, tokenRequest, type RegisteredTestClient } from '../helpers/signin.js';
import { callToolHttp } from '../helpers/refresh.js';

/**
 * Two proxies — each with its own issuer and its own upstream IdP, as when one
 * process fronts several IdPs, one per app — on ONE store. Each proxy keeps its
 * keys under a namespace derived from its issuer, so nothing one of them issued
 * (client, code, refresh token, session) is accepted by the other: otherwise a
 * refresh token from proxy A would get proxy B's access tokens for a person
 * who signed in at A's IdP, not B's.
 */
describe('two proxies sharing one store', () => {
  const shared = new MemoryStore();
  let a: Stack;
  let b: Stack;
  let clientA: RegisteredTestClient;
  let tokensA: { access_token: string; refresh_token: string };

  beforeAll(async () => {
    a = await startStack({ stores: () => shared });
    b = await startStack({ stores: () => shared });
    clientA = await registerClient(a.issuer);
    const s = await signIn(a, clientA, { login: 'alice' });
    const res = await tokenRequest(a.issuer, {
      grant_type: 'authorization_code',
      client_id: clientA.client_id,
      code: s.code,
      code_verifier: s.verifier,
      redirect_uri: s.redirectUri,
    });
    expect(res.status).toBe(200);
    tokensA = res.body;
  });

  afterAll(async () => {
    await a?.close();
    await b?.close();
    await shared.close();
  });

  it('a refresh token and the client proxy A issued are unknown to proxy B, and keep working at A', async () => {
    const atB = await tokenRequest(b.issuer, {
      grant_type: 'refresh_token',
      client_id: clientA.client_id,
      refresh_token: tokensA.refresh_token,
    });
    expect(atB.status).toBe(401);
    expect(atB.body.error).toBe('invalid_client');
    const authorize = await fetch(
      `${b.issuer}/authorize?${new URLSearchParams({ response_type: 'code', client_id: clientA.client_id, redirect_uri: clientA.redirect_uris[0]!, state: 's', code_challenge: 'x'.repeat(43), code_challenge_method: 'S256' })}`,
      { redirect: 'manual' },
    );
    expect(authorize.status).toBe(400); // rendered, never redirected: the client is unknown here
    expect((await callToolHttp(a.mcpUrl, tokensA.access_token, 'claims')).status).toBe(200);
    const atA = await tokenRequest(a.issuer, {
      grant_type: 'refresh_token',
      client_id: clientA.client_id,
      refresh_token: tokensA.refresh_token,
    });
    expect(atA.status).toBe(200);
  });

  it('a code proxy A issued cannot be redeemed at proxy B', async () => {
    const s = await signIn(a, clientA, { login: 'bob' });
    const atB = await tokenRequest(b.issuer, {
      grant_type: 'authorization_code',
      client_id: clientA.client_id,
      code: s.code,
      code_verifier: s.verifier,
      redirect_uri: s.redirectUri,
    });
    expect(atB.status).toBe(401);
    expect(atB.body.error).toBe('invalid_client');
    const atA = await tokenRequest(a.issuer, {
      grant_type: 'authorization_code',
      client_id: clientA.client_id,
      code: s.code,
      code_verifier: s.verifier,
      redirect_uri: s.redirectUri,
    });
    expect(atA.status).toBe(200); // B's attempt consumed nothing
  });
});
