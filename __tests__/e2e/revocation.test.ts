import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { startStack, type Stack } from '../helpers/stack.js';
import {
  RedisStores,
  callToolHttp,
  eventually,
  formPost,
  refreshGrant,
  idpRefreshError,
  signIn,
  vaultOf,
  type SignedIn,
} from '../helpers/refresh.js';
import { keys } from '../../lib/stores/keys.js';
import { storeNamespace } from '../../lib/stores/namespaced.js';

/**
 * Revocation (RFC 7009) and logout (issue 4) on two proxy instances sharing
 * Redis behind a round-robin balancer. "Refused on both instances" is checked
 * by calling each instance directly, not through the balancer; the instance
 * that did not end the session learns it by pub/sub, so that check polls
 * (bounded).
 */
describe('revocation and logout across instances (Redis)', () => {
  let redis: RedisStores;
  let stack: Stack;
  const open: SignedIn[] = [];
  const session = async (login = 'alice') => {
    const s = await signIn(stack, login);
    open.push(s);
    return s;
  };
  const statusOn = async (i: number, accessToken: string) =>
    (await callToolHttp(`${stack.instances[i]!.url}/mcp`, accessToken, 'claims')).status;
  const revoke = (params: Record<string, string>) => formPost(`${stack.issuer}/revoke`, params);

  /** Both instances refuse the token (the second one once the broadcast arrived). */
  const refusedEverywhere = async (accessToken: string) => {
    for (const i of [0, 1])
      await eventually(async () => (await statusOn(i, accessToken)) === 401, `instance ${i} refuses the access token`, 5_000);
  };
  /** The session's records are gone from Redis (read through another client than the instances'). */
  const goneFromStore = async (sid: string) => {
    expect(
      await redis.clients[0]!.exists([
        redis.key(storeNamespace(stack.issuer) + keys.vault(sid, 'upstream')),
        redis.key(storeNamespace(stack.issuer) + keys.grant(sid)),
      ]),
    ).toBe(0);
  };

  beforeAll(async () => {
    redis = await RedisStores.connect(2);
    stack = await startStack({ instances: 2, stores: redis.factory });
  });
  afterAll(async () => {
    for (const s of open) await s.client.close();
    await stack?.close();
    await redis?.close();
  });

  it('revoking the refresh token ends the session on both instances, in the vault and at the IdP', async () => {
    const s = await session();
    const upstream = await vaultOf(stack.instances[0]!.view).get(s.sid, 'upstream');
    expect(upstream?.refresh_token).toEqual(expect.any(String));
    expect([await statusOn(0, s.accessToken), await statusOn(1, s.accessToken)]).toEqual([200, 200]);
    const revocations = stack.idp.counters.revocation;

    const r = await revoke({ token: s.refreshToken, token_type_hint: 'refresh_token', client_id: s.clientId });
    expect(r.status).toBe(200);
    expect(r.headers.get('cache-control')).toBe('no-store');

    await refusedEverywhere(s.accessToken);
    await goneFromStore(s.sid);
    expect(stack.idp.counters.revocation).toBe(revocations + 1);
    expect(await idpRefreshError(stack, upstream!.refresh_token!)).toBe('invalid_grant');
    expect((await refreshGrant(stack, s.clientId, s.refreshToken)).json.error).toBe('invalid_grant');
  });

  it("answers 200 for unknown tokens and for another client's tokens, and revokes nothing then", async () => {
    const s = await session();
    const other = await session('bob');
    const revocations = stack.idp.counters.revocation;

    expect((await revoke({ token: 'mop_rt_unknown', client_id: s.clientId })).status).toBe(200);
    expect((await revoke({ token: s.refreshToken, token_type_hint: 'refresh_token', client_id: other.clientId })).status).toBe(200);
    expect((await revoke({ token: s.accessToken, token_type_hint: 'access_token', client_id: other.clientId })).status).toBe(200);
    // An unknown client is a client-authentication failure (RFC 7009 §2.2.1), not a silent 200.
    const unknownClient = await revoke({ token: s.refreshToken, client_id: 'no-such-client' });
    expect(unknownClient.status).toBe(401);
    expect(unknownClient.json.error).toBe('invalid_client');

    expect(stack.idp.counters.revocation).toBe(revocations);
    expect(await redis.clients[1]!.exists(redis.key(storeNamespace(stack.issuer) + keys.vault(s.sid, 'upstream')))).toBe(1);
    expect([await statusOn(0, s.accessToken), await statusOn(1, s.accessToken)]).toEqual([200, 200]);
    expect((await refreshGrant(stack, s.clientId, s.refreshToken)).status).toBe(200);
  });

  it('oauth.logout(sid) on one instance ends the session on the other', async () => {
    const s = await session();
    expect(await statusOn(1, s.accessToken)).toBe(200);
    const revocations = stack.idp.counters.revocation;

    await stack.instances[0]!.oauth.logout(s.sid);

    expect(await statusOn(0, s.accessToken)).toBe(401);
    await refusedEverywhere(s.accessToken);
    await goneFromStore(s.sid);
    expect(stack.idp.counters.revocation).toBe(revocations + 1);
    expect((await refreshGrant(stack, s.clientId, s.refreshToken)).json.error).toBe('invalid_grant');
  });

  it('revoking an access token ends its session too (it is bound to the session, not revocable alone)', async () => {
    const s = await session();
    const revocations = stack.idp.counters.revocation;
    // No hint: the endpoint finds out what kind of token it is.
    expect((await revoke({ token: s.accessToken, client_id: s.clientId })).status).toBe(200);
    await refusedEverywhere(s.accessToken);
    await goneFromStore(s.sid);
    expect(stack.idp.counters.revocation).toBe(revocations + 1);
    expect((await refreshGrant(stack, s.clientId, s.refreshToken)).json.error).toBe('invalid_grant');
  });
});
