import { describe, it, expect, afterAll } from '@jest/globals';
import supertest from 'supertest';
import { createOAuthProxy, MemoryStore, type OAuthProxy, type Store } from '../../lib/index.js';
import { keys } from '../../lib/stores/keys.js';
import { TestBrowser } from '../helpers/browser.js';
import { callTool, connectMcpClient } from '../helpers/mcp.js';
import { TEST_SECRET, TEST_VAULT_KEY, recordingLogger } from '../helpers/proxy.js';
import { RedisStores, callToolHttp, eventually, vaultOf } from '../helpers/refresh.js';
import { registerClient } from '../helpers/signin.js';
import { startShapedIdp, type ShapedIdp } from '../helpers/shaped-idp.js';
import { startCimdIdp } from '../helpers/cimd-idp.js';
import { reserveProxy, startUpstreamStack } from '../helpers/upstream-stack.js';

/**
 * The proxy registers itself at upstreams that let it (issue 11): RFC 7591 at an oidc-provider
 * with dynamic registration on (one registration across instances on one real Redis, reused
 * after a restart, exactly one re-registration after the upstream deleted the client), and a
 * Client ID Metadata Document the proxy serves itself at an authorization server that fetches it.
 */
const INITIAL_ACCESS_TOKEN = 'initial-access-token-0123456789';
const cleanup: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
});
const offline = () => true;

async function dcrIdp(redirectUri: string, o: { initialAccessToken?: boolean } = {}): Promise<ShapedIdp> {
  const idp = await startShapedIdp({
    path: '',
    accessTokenTtl: 3,
    offline,
    // A pre-registered client the proxy does not use; registration is what is under test.
    client: { clientId: 'someone-else', clientSecret: 'someone-else-secret-0123456789', redirectUri },
    configure: (c) => {
      c.features.registration = { enabled: true, ...(o.initialAccessToken ? { initialAccessToken: INITIAL_ACCESS_TOKEN } : {}) };
    },
  });
  cleanup.push(() => idp.close());
  return idp;
}

describe('RFC 7591 self-registration on one real Redis', () => {
  it('two instances register once; a restart reuses the stored client; a deleted client leads to exactly one re-registration', async () => {
    const at = await reserveProxy();
    const idp = await dcrIdp(at.callback, { initialAccessToken: true });
    const redis = await RedisStores.connect(3);
    cleanup.push(() => redis.close());
    const upstream = () => ({
      provider: idp.issuer,
      scopes: ['openid', 'profile', 'offline_access'],
      providerConfig: { id: 'idp' },
      registration: { rateLimit: false as const, upstream: { initialAccessToken: INITIAL_ACCESS_TOKEN, clientName: 'MCP proxy (test)' } },
      refresh: { enabled: true, skewSeconds: 1 },
      store: redis.factory(),
    });
    const mcp = { userinfoUrl: `${idp.issuer}/me`, providerId: 'idp' };
    const a = await startUpstreamStack(at, upstream(), mcp);
    const b = await startUpstreamStack(at, upstream(), mcp, { port: 0 });
    cleanup.push(() => b.close());
    const [ra, rb] = await Promise.all([a.oauth.ready(), b.oauth.ready()]);
    expect([ra.upstream, rb.upstream]).toEqual(['ok', 'ok']);
    expect(idp.counters.registration).toBe(1);
    // The stored credentials are sealed: the raw value holds no client secret.
    const raw = (await a.view.get(keys.upstreamClient('idp')))!;
    expect(raw).toMatch(/^v1\./);
    expect(raw).not.toContain('client_secret');

    // The official SDK client signs in through the registered client; two sessions for later.
    const s1 = await connectMcpClient({ serverUrl: a.mcpUrl, browser: new TestBrowser(), login: 'alice' });
    const s2 = await connectMcpClient({ serverUrl: a.mcpUrl, browser: new TestBrowser(), login: 'bob' });
    expect(await callTool(s1.client, 'whoami')).toMatchObject({ sub: 'alice' });
    const { sid: sid1 } = await callTool<{ sid: string }>(s1.client, 'claims');

    // A restart (a new instance, same Redis) reuses the stored client.
    await a.close();
    const c = await startUpstreamStack(at, upstream(), mcp);
    cleanup.push(() => c.close());
    expect((await c.oauth.ready()).upstream).toBe('ok');
    expect(idp.counters.registration).toBe(1);
    const first = (await vaultOf(c.view).get(sid1, 'idp'))!;
    await eventually(
      async () => (await fetch(`${idp.issuer}/me`, { headers: { authorization: `Bearer ${first.access_token}` } })).status === 401,
      'the first upstream token expired',
      30_000,
    );
    const refreshes = idp.counters.refresh;
    expect(await callTool(s1.client, 'whoami')).toMatchObject({ sub: 'alice' }); // refresh with the reused client
    expect(idp.counters.refresh).toBe(refreshes + 1);

    // The upstream deletes the client. Both instances then meet invalid_client at once: one re-registration.
    const registered = await registeredClientId(c.view);
    expect(await idp.provider.Client.find(registered)).toBeDefined();
    await idp.provider.Client.adapter.destroy(registered);
    await eventually(
      async () => (await vaultOf(c.view).get(sid1, 'idp'))!.expires_at! * 1000 < Date.now(),
      "both sessions' upstream tokens expired",
      30_000,
    );
    const t1 = s1.provider.tokens()!.access_token;
    const t2 = s2.provider.tokens()!.access_token;
    const [r1, r2] = await Promise.all([callToolHttp(c.mcpUrl, t1, 'whoami'), callToolHttp(b.url + '/mcp', t2, 'whoami')]);
    expect(idp.counters.tokenErrors.filter((e) => e === 'invalid_client').length).toBeGreaterThanOrEqual(2);
    expect(idp.counters.registration).toBe(2);
    expect(await registeredClientId(c.view)).not.toBe(registered);
    // The grants belonged to the deleted client: both sessions must sign in again…
    expect([r1.result?.isError, r2.result?.isError]).toEqual([true, true]);
    // …and a new sign-in goes through the new client.
    const s3 = await connectMcpClient({ serverUrl: c.mcpUrl, browser: new TestBrowser(), login: 'carol' });
    expect(await callTool(s3.client, 'whoami')).toMatchObject({ sub: 'carol' });
    expect(idp.counters.registration).toBe(2);
    for (const s of [s1, s2, s3]) await s.client.close();
  });

  it('without the initial access token the registration is refused, with a hint naming the option', async () => {
    const at = await reserveProxy();
    const idp = await dcrIdp(at.callback, { initialAccessToken: true });
    const s = await startUpstreamStack(
      at,
      { provider: idp.issuer, scopes: ['openid'], providerConfig: { id: 'idp' } },
      { userinfoUrl: `${idp.issuer}/me`, providerId: 'idp' },
    );
    cleanup.push(() => s.close());
    expect(await s.oauth.ready()).toMatchObject({ ready: false, upstream: 'unavailable' });
    expect(s.logs.text()).toContain('registration.upstream.initialAccessToken');
  });
});

async function registeredClientId(view: Store): Promise<string> {
  const { Sealer } = await import('../../lib/vault/seal.js');
  const { defaultRandomBytes } = await import('../../lib/crypto.js');
  const opened = new Sealer([TEST_VAULT_KEY], defaultRandomBytes).open(
    (await view.get(keys.upstreamClient('idp')))!,
    'upstream-client:idp',
  );
  return (JSON.parse(opened!) as { clientId: string }).clientId;
}

describe('Client ID Metadata Document at an upstream that supports it', () => {
  it('the proxy serves its own document under the issuer, the upstream fetches it, sign-in, refresh and revocation go through', async () => {
    const cimd = await startCimdIdp({ accessTokenTtl: 3 });
    cleanup.push(() => cimd.close());
    const at = await reserveProxy();
    const s = await startUpstreamStack(
      at,
      { provider: cimd.url, scopes: ['profile'], providerConfig: { id: 'cimd' }, refresh: { enabled: true, skewSeconds: 1 } },
      { userinfoUrl: `${cimd.url}/userinfo`, providerId: 'cimd' },
    );
    cleanup.push(() => s.close());
    const docUrl = `${at.issuer}/upstream-client/cimd`;
    const served = await fetch(docUrl);
    expect(served.status).toBe(200);
    expect(await served.json()).toMatchObject({
      client_id: docUrl,
      redirect_uris: [at.callback],
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
    });

    const c = await connectMcpClient({ serverUrl: s.mcpUrl, browser: new TestBrowser(), login: 'dana' });
    expect(cimd.counters.documentFetches).toBe(1);
    expect(cimd.documents[0]).toMatchObject({ client_id: docUrl });
    expect(await callTool(c.client, 'whoami')).toMatchObject({ sub: 'dana' });
    const { sid } = await callTool<{ sid: string }>(c.client, 'claims');
    expect(await s.view.get(keys.upstreamClient('cimd'))).toBeUndefined(); // nothing to store
    const first = (await vaultOf(s.view).get(sid, 'cimd'))!;
    await eventually(() => !cimd.isActive(first.access_token), 'the first token expired', 30_000);
    expect(await callTool(c.client, 'whoami')).toMatchObject({ sub: 'dana' });
    expect(cimd.counters.refresh).toBe(1);
    await s.oauth.logout(sid);
    expect(cimd.counters.revocation).toBe(1);
    await c.client.close();
  });
});

/** Mounts `oauth` at `at`, registers a client and sends it to `/authorize`; the response. */
async function authorizeAt(at: { port: number; issuer: string }, oauth: OAuthProxy) {
  const app = (await import('express')).default();
  app.use('/oauth', oauth);
  const server = app.listen(at.port, '127.0.0.1');
  cleanup.push(() => new Promise<void>((r) => server.close(() => r())));
  const client = await registerClient(at.issuer);
  return supertest(app).get('/oauth/authorize').query({
    response_type: 'code',
    client_id: client.client_id,
    redirect_uri: client.redirect_uris[0],
    state: 's',
    code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    code_challenge_method: 'S256',
  });
}

describe('without clientId at an upstream that offers neither', () => {
  it('creation succeeds, ready() reports the upstream unavailable, /authorize renders an error page naming "clientId"', async () => {
    const at = await reserveProxy();
    const idp = await startShapedIdp({
      path: '',
      offline,
      client: { clientId: 'x', clientSecret: 'x-secret-0123456789abcdef', redirectUri: at.callback },
    });
    cleanup.push(() => idp.close());
    const logs = recordingLogger();
    const oauth = createOAuthProxy({
      issuer: at.issuer,
      provider: idp.issuer,
      secret: TEST_SECRET,
      encryptionKey: TEST_VAULT_KEY,
      logger: logs.logger,
      store: new MemoryStore(),
      consent: { enabled: false },
      registration: { rateLimit: false },
    });
    cleanup.push(() => oauth.close());
    expect(await oauth.ready()).toEqual({ ready: false, store: 'ok', upstream: 'unavailable' });
    const res = await authorizeAt(at, oauth);
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.headers['content-type']).toMatch(/text\/html/);
    expect(res.text).toContain('clientId');
    expect(res.text).toContain('offers neither dynamic registration');
  });
});

describe('without clientId, with consent on (issue 11)', () => {
  it.each(['remote', 'local'] as const)('%s mode: the error page comes at /authorize, before any consent page', async (mode) => {
    const at = await reserveProxy();
    const idp = await startShapedIdp({
      path: '',
      offline,
      client: { clientId: 'x', clientSecret: 'x-secret-0123456789abcdef', redirectUri: at.callback },
    });
    cleanup.push(() => idp.close());
    const upstream = { provider: idp.issuer };
    const oauth = createOAuthProxy({
      issuer: at.issuer,
      ...(mode === 'remote' ? upstream : { mode: 'local' as const, apps: [{ id: 'crm', ...upstream, required: true }] }),
      secret: TEST_SECRET,
      encryptionKey: TEST_VAULT_KEY,
      logger: recordingLogger().logger,
      store: new MemoryStore(),
      consent: { enabled: true },
      registration: { rateLimit: false },
    });
    cleanup.push(() => oauth.close());
    const res = await authorizeAt(at, oauth);
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.text).toContain('offers neither dynamic registration');
    expect(res.text).not.toContain('name="decision"');
  });
});
