import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { TestBrowser } from '../helpers/browser.js';
import { callTool, TestOAuthClientProvider } from '../helpers/mcp.js';
import { TEST_SECRET, TEST_VAULT_KEY, recordingLogger } from '../helpers/proxy.js';
import { RedisStores, callToolHttp, eventually, idpRefreshError, signIn, startProbe, vaultOf, type SignedIn } from '../helpers/refresh.js';
import { keys } from '../../lib/stores/keys.js';
import { storeNamespace } from '../../lib/stores/namespaced.js';
import type { Store } from '../../lib/stores/store.js';
import { parseOptions } from '../../lib/options.js';
import { resolveLogger } from '../../lib/logger.js';
import { defaultRandomBytes } from '../../lib/crypto.js';
import { UpstreamProvider } from '../../lib/upstream/provider.js';
import { TokenBroker } from '../../lib/grants/token-broker.js';
import { Grants } from '../../lib/grants/grants.js';
import { EndedGrants } from '../../lib/grants/ended.js';
import { UpstreamRegistry } from '../../lib/upstream/registry.js';

/**
 * Upstream refresh on demand (issue 4) against a real oidc-provider whose
 * access tokens live a few seconds, so they really expire: the tests wait (a
 * bounded poll) until the IdP itself refuses the stored token, then check what
 * the proxy does. No assertion is about timing.
 */
const IDP_TTL = 3;
const SKEW = 1;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until the IdP refuses the session's stored upstream access token (real expiry). */
async function untilUpstreamExpired(stack: Stack, store: Store, sid: string) {
  const set = await vaultOf(store).get(sid, 'upstream');
  if (!set) throw new Error('no upstream tokens stored');
  await eventually(
    async () => (await fetch(stack.idp.endpoints.userinfo, { headers: { authorization: `Bearer ${set.access_token}` } })).status === 401,
    'the IdP refuses the upstream access token',
    30_000,
  );
  return set;
}

describe('upstream refresh, one instance (MemoryStore)', () => {
  let stack: Stack;
  let probe: Awaited<ReturnType<typeof startProbe>>;
  let a: SignedIn, b: SignedIn, c: SignedIn;
  const authorizeParams = { access_type: 'offline', prompt: 'consent' };

  beforeAll(async () => {
    stack = await startStack({
      idp: { accessTokenTtl: IDP_TTL },
      proxy: { refresh: { enabled: true, skewSeconds: SKEW }, providerConfig: { id: 'upstream', authorizeParams } },
    });
    probe = await startProbe(stack.instances[0]!.oauth);
    [a, b, c] = await Promise.all([signIn(stack), signIn(stack), signIn(stack)]);
  });
  afterAll(async () => {
    for (const s of [a, b, c]) await s?.client.close();
    await probe?.close();
    await stack?.close();
  });
  const store = () => stack.instances[0]!.view;

  it('a tool keeps working after the upstream token expires, with exactly one upstream refresh', async () => {
    const old = await untilUpstreamExpired(stack, store(), a.sid);
    const before = stack.idp.counters.refresh;
    expect((await callTool(a.client, 'whoami')).sub).toBe('alice');
    expect(stack.idp.counters.refresh).toBe(before + 1);
    const now = await vaultOf(store()).get(a.sid, 'upstream');
    expect(now?.access_token).not.toBe(old.access_token);
    // The IdP rotates refresh tokens; the rotated one was saved.
    expect(now?.refresh_token).toEqual(expect.any(String));
    expect(now?.refresh_token).not.toBe(old.refresh_token);
  });

  it('upstream invalid_grant: getToken throws ReauthenticationRequiredError, tryGetToken is null, the vault record is gone', async () => {
    await untilUpstreamExpired(stack, store(), b.sid);
    stack.idp.failRefreshWithInvalidGrant(1);
    const before = stack.idp.counters.refresh;
    const r = await callToolHttp(stack.mcpUrl, b.accessToken, 'whoami');
    expect(r.status).toBe(200);
    expect(r.result?.isError).toBe(true);
    expect(r.text).toMatch(/re-authenticate/);
    expect(r.text).toContain(`${stack.issuer}/authorize`);
    expect(stack.idp.counters.refresh).toBe(before + 1);
    expect(await store().get(keys.vault(b.sid, 'upstream'))).toBeUndefined();

    expect(await probe.ask(b.accessToken, 'try')).toEqual({ token: null });
    expect(await probe.ask(b.accessToken, 'get')).toEqual({
      error: expect.objectContaining({
        name: 'ReauthenticationRequiredError',
        retryable: false,
        authorizeUrl: `${stack.issuer}/authorize`,
      }),
    });
    // Nothing left to refresh with: the IdP is not asked again.
    expect(stack.idp.counters.refresh).toBe(before + 1);
    // Only the upstream tokens went; the proxy session itself still answers tools that need no upstream token.
    const claims = await callToolHttp(stack.mcpUrl, b.accessToken, 'claims');
    expect(claims.result?.isError).toBeFalsy();
  });

  it.each([503, 429])(
    'upstream %i: the error is retryable, the vault record is kept, and the next call succeeds with one refresh',
    async (status) => {
      const old = await untilUpstreamExpired(stack, store(), c.sid);
      stack.idp.failNext('refresh', status, 1);
      const before = stack.idp.counters.refresh;
      expect(await probe.ask(c.accessToken, 'get')).toEqual({
        error: expect.objectContaining({ name: 'UpstreamUnavailableError', retryable: true }),
      });
      expect(stack.idp.counters.refresh).toBe(before + 1);
      const kept = await vaultOf(store()).get(c.sid, 'upstream');
      expect(kept?.refresh_token).toBe(old.refresh_token);

      const r = await callToolHttp(stack.mcpUrl, c.accessToken, 'whoami');
      expect(r.result?.isError).toBeFalsy();
      expect(JSON.parse(r.text!).sub).toBe('alice');
      expect(stack.idp.counters.refresh).toBe(before + 2);
    },
  );

  it('providerConfig.authorizeParams reach the upstream authorization request', async () => {
    const provider = new TestOAuthClientProvider();
    const transport = new StreamableHTTPClientTransport(new URL(stack.mcpUrl), { authProvider: provider });
    await expect(new Client({ name: 't', version: '1' }).connect(transport)).rejects.toBeInstanceOf(UnauthorizedError);
    const { url } = await new TestBrowser().authorize(provider.lastAuthorizationUrl!, {
      login: 'alice',
      stopAt: (u) => u.href.startsWith(stack.idp.endpoints.authorization),
    });
    expect(url.searchParams.get('access_type')).toBe('offline');
    expect(url.searchParams.get('prompt')).toBe('consent');
    // The proxy's own parameters are not overridable by them.
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    expect(url.searchParams.get('redirect_uri')).toBe(`${stack.issuer}/callback`);
    await transport.close();
  });
});

describe('upstream refresh, two instances on Redis', () => {
  let redis: RedisStores;
  let stack: Stack;
  let storm: SignedIn, kept: SignedIn, slow: SignedIn, ended: SignedIn;

  beforeAll(async () => {
    redis = await RedisStores.connect(2);
    // One second longer than above: after the refresh the new token must stay fresh while 20 requests arrive.
    stack = await startStack({
      instances: 2,
      stores: redis.factory,
      idp: { accessTokenTtl: IDP_TTL + 2 },
      proxy: { refresh: { enabled: true, skewSeconds: SKEW } },
    });
    [storm, kept, slow, ended] = await Promise.all([signIn(stack), signIn(stack, 'bob'), signIn(stack), signIn(stack)]);
  });
  afterAll(async () => {
    for (const s of [storm, kept, slow, ended]) await s?.client.close();
    await stack?.close();
    await redis?.close();
  });
  const store = (i = 0) => stack.instances[i]!.view;

  it('20 concurrent tool calls on two instances after expiry: all succeed, exactly one upstream refresh', async () => {
    await untilUpstreamExpired(stack, store(), storm.sid);
    const before = stack.idp.counters.refresh;
    const hits = [...stack.hits];
    const results = await Promise.all(Array.from({ length: 20 }, () => callToolHttp(stack.mcpUrl, storm.accessToken, 'whoami')));
    for (const r of results) {
      expect(r.status).toBe(200);
      expect(r.result?.isError).toBeFalsy();
      expect(JSON.parse(r.text!).sub).toBe('alice');
    }
    expect(stack.hits[0]! - hits[0]!).toBe(10);
    expect(stack.hits[1]! - hits[1]!).toBe(10);
    expect(stack.idp.counters.refresh).toBe(before + 1);
  });

  it('keeps the upstream refresh token after the access token expired (vault TTL follows the refresh token)', async () => {
    const old = await untilUpstreamExpired(stack, store(), kept.sid);
    const pttl = await redis.clients[0]!.pTTL(redis.key(storeNamespace(stack.issuer) + keys.vault(kept.sid, 'upstream')));
    expect(pttl).toBeGreaterThan(24 * 3600 * 1000);
    expect(old.refresh_token).toEqual(expect.any(String));
    const r = await callToolHttp(stack.instances[1]!.url + '/mcp', kept.accessToken, 'whoami');
    expect(JSON.parse(r.text!).sub).toBe('bob');
  });

  /**
   * Broker level, with the IdP's refresh responses held back by a fetch wrapper
   * (the real IdP answers; only the answer is delayed) and a short lock lease
   * (internal option) instead of sleeping past the 10 s default.
   */
  function slowIdp(delayMs: number) {
    const seen = { sent: 0, answered: 0, issued: [] as string[] };
    const slowFetch: typeof fetch = async (input, init) => {
      if (init?.method !== 'POST' || !String(init.body ?? '').includes('grant_type=refresh_token')) return fetch(input, init);
      seen.sent += 1;
      const res = await fetch(input, init);
      const body = await res.text();
      const rt = (JSON.parse(body) as { refresh_token?: string }).refresh_token;
      if (rt) seen.issued.push(rt);
      seen.answered += 1;
      await sleep(delayMs);
      return new Response(body, { status: res.status, headers: res.headers });
    };
    const logger = resolveLogger(recordingLogger().logger);
    const options = parseOptions({
      issuer: stack.issuer,
      provider: stack.idp.issuer,
      clientId: stack.idp.clientId,
      clientSecret: stack.idp.clientSecret,
      providerConfig: { id: 'upstream' },
      secret: TEST_SECRET,
      encryptionKey: TEST_VAULT_KEY,
    });
    const provider = new UpstreamProvider(options, { fetch: slowFetch, logger, clock: Date.now });
    const upstreams = new UpstreamRegistry([provider]);
    const broker = (s: Store, lockLeaseMs?: number) => {
      const vault = vaultOf(s);
      const grants = new Grants({
        store: s,
        vault,
        ended: new EndedGrants(s, Date.now, 3600_000, logger),
        upstreams,
        ttlMs: 3600_000,
        clock: Date.now,
        random: defaultRandomBytes,
        logger,
      });
      return new TokenBroker({
        store: s,
        vault,
        grants,
        upstreams,
        clock: Date.now,
        random: defaultRandomBytes,
        refresh: { enabled: true, skewSeconds: SKEW },
        logger,
        ...(lockLeaseMs ? { lockLeaseMs } : {}),
      });
    };
    return { seen, broker };
  }

  it('a slow IdP does not cause a second refresh: the lock is renewed while the first instance waits for it', async () => {
    const LEASE = 900;
    const { seen, broker } = slowIdp(LEASE * 3.5);
    const [one, two] = [broker(store(0), LEASE), broker(store(1), LEASE)];
    await untilUpstreamExpired(stack, store(), slow.sid);
    const before = stack.idp.counters.refresh;
    const first = one.get(slow.sid, 'upstream');
    await eventually(() => seen.sent === 1, 'the first refresh reached the IdP');
    // The second instance asks while the first one's answer is still outstanding, for longer than a lease.
    const second = two.get(slow.sid, 'upstream');
    const [r1, r2] = await Promise.all([first, second]);
    expect(r1).toEqual({ ok: true, token: expect.any(String) });
    expect(r2).toEqual(r1);
    expect(seen.sent).toBe(1);
    expect(stack.idp.counters.refresh).toBe(before + 1);
    expect(await redis.clients[0]!.exists(redis.key(storeNamespace(stack.issuer) + keys.refreshLock(slow.sid, 'upstream')))).toBe(0);
    // The tools use that token without another refresh.
    const r = await callToolHttp(stack.mcpUrl, slow.accessToken, 'whoami');
    expect(JSON.parse(r.text!).sub).toBe('alice');
  });

  it('a session ended while the IdP was answering a refresh does not get its upstream tokens back', async () => {
    const { seen, broker } = slowIdp(1500);
    await untilUpstreamExpired(stack, store(), ended.sid);
    const revocations = stack.idp.counters.revocation;
    const pending = broker(store(0)).get(ended.sid, 'upstream');
    await eventually(() => seen.answered === 1, 'the IdP rotated the refresh token');
    await stack.instances[1]!.oauth.logout(ended.sid);
    expect(await pending).toEqual({ ok: false, reason: expect.stringMatching(/ended/) });
    expect(await store(1).get(keys.vault(ended.sid, 'upstream'))).toBeUndefined();
    // The refresh token the IdP issued during the race was revoked too.
    expect(stack.idp.counters.revocation).toBe(revocations + 2);
    expect(await idpRefreshError(stack, seen.issued[0]!)).toBe('invalid_grant');
  });
});
