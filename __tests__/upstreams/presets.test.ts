import { describe, it, expect, afterAll } from '@jest/globals';
import { providers, MICROSOFT_CONSUMERS_TENANT, type OAuthProxyOptions } from '../../lib/index.js';
import { TestBrowser } from '../helpers/browser.js';
import { AuthorizationCallbackError, callTool, connectMcpClient } from '../helpers/mcp.js';
import { eventually, vaultOf } from '../helpers/refresh.js';
import { startShapedIdp, type ShapedIdp, type ShapedIdpOptions } from '../helpers/shaped-idp.js';
import { reserveProxy, startUpstreamStack, type UpstreamStack } from '../helpers/upstream-stack.js';

/**
 * Each preset signs in through an oidc-provider shaped like its IdP (helpers/shaped-idp.ts):
 * the official SDK client end to end, a tool with the upstream token and the claims, a real
 * refresh after the 3-second upstream token expired, and revocation at logout.
 */
const CLIENT_ID = 'mcp-proxy-client';
const CLIENT_SECRET = 'preset-client-secret-0123456789abcdef';
const T1 = '11111111-1111-4111-8111-111111111111';
const T2 = '22222222-2222-4222-8222-222222222222';
const cleanup: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
});

const me = (idp: ShapedIdp) => `${idp.issuer.replace(/\/$/, '')}/me`;
type Upstream = Pick<OAuthProxyOptions, 'provider' | 'clientId' | 'scopes' | 'providerConfig'> & Partial<OAuthProxyOptions>;

async function setUp(
  shape: Omit<ShapedIdpOptions, 'client' | 'accessTokenTtl'> & { auth?: 'client_secret_post' },
  upstream: (idp: ShapedIdp) => Upstream,
) {
  const at = await reserveProxy();
  const idp = await startShapedIdp({
    ...shape,
    accessTokenTtl: 3,
    client: {
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      redirectUri: at.callback,
      ...(shape.auth ? { tokenEndpointAuthMethod: shape.auth } : {}),
    },
  });
  const u = upstream(idp);
  const stack = await startUpstreamStack(
    at,
    { refresh: { enabled: true, skewSeconds: 1 }, ...u },
    { userinfoUrl: me(idp), providerId: u.providerConfig!.id! },
  );
  cleanup.push(
    () => idp.close(),
    () => stack.close(),
  );
  return { idp, stack, pid: u.providerConfig!.id! };
}

/** Sign in, use, refresh after real expiry, revoke. Returns the claims the tool saw. */
async function exercise({ idp, stack, pid }: { idp: ShapedIdp; stack: UpstreamStack; pid: string }, login: string) {
  const s = await connectMcpClient({ serverUrl: stack.mcpUrl, browser: new TestBrowser(), login });
  expect(await callTool(s.client, 'whoami')).toMatchObject({ sub: login });
  const seen = await callTool<{ sid: string; sub: string; claims: Record<string, unknown> }>(s.client, 'claims');
  const vault = vaultOf(stack.view);
  const first = (await vault.get(seen.sid, pid))!;
  expect(first.refresh_token).toEqual(expect.any(String));
  await eventually(
    async () => (await fetch(me(idp), { headers: { authorization: `Bearer ${first.access_token}` } })).status === 401,
    'the IdP refuses the first token',
    30_000,
  );
  const refreshes = idp.counters.refresh;
  expect(await callTool(s.client, 'whoami')).toMatchObject({ sub: login });
  expect(idp.counters.refresh).toBe(refreshes + 1);
  const revocations = idp.counters.revocation;
  await stack.oauth.logout(seen.sid);
  expect(idp.counters.revocation).toBe(revocations + 1);
  await s.client.close();
  return { ...seen, first };
}

async function refused(stack: UpstreamStack, login: string): Promise<string | undefined> {
  const err = await connectMcpClient({ serverUrl: stack.mcpUrl, browser: new TestBrowser(), login }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AuthorizationCallbackError);
  return (err as AuthorizationCallbackError).error;
}

describe('providers.google()', () => {
  const googleShape: Omit<ShapedIdpOptions, 'client'> = {
    path: '',
    // Google: a refresh token only with access_type=offline and prompt=consent; no offline_access scope.
    offline: (q) => q.get('access_type') === 'offline' && (q.get('prompt') ?? '').split(' ').includes('consent'),
    refuse: (q) => ((q.get('scope') ?? '').split(' ').includes('offline_access') ? 'invalid_scope' : undefined),
  };

  it('signs in, gets a refresh token (offline + consent), refreshes and revokes', async () => {
    const env = await setUp(googleShape, (idp) => ({
      ...providers.google({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET }),
      provider: idp.issuer,
    }));
    const { claims } = await exercise(env, 'alice');
    expect(claims).toMatchObject({ sub: 'alice', email: 'alice@example.com' });
    const q = env.idp.authorizeQueries[0]!;
    expect([q.get('access_type'), q.get('prompt'), q.get('scope')]).toEqual(['offline', 'consent', 'openid email profile']);
  });

  it('the same IdP without the preset issues no refresh token (the quirk the preset handles)', async () => {
    const env = await setUp(googleShape, (idp) => ({
      provider: idp.issuer,
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      scopes: ['openid', 'email'],
      providerConfig: { id: 'plain' },
    }));
    const s = await connectMcpClient({ serverUrl: env.stack.mcpUrl, browser: new TestBrowser(), login: 'alice' });
    const { sid } = await callTool<{ sid: string }>(s.client, 'claims');
    expect((await vaultOf(env.stack.view).get(sid, 'plain'))!.refresh_token).toBeUndefined();
    await s.client.close();
  });
});

describe('providers.microsoft() against an Entra-shaped IdP ({tenantid} issuer template)', () => {
  const tenantOf: Record<string, string> = { alice: T1, bob: T2, carol: MICROSOFT_CONSUMERS_TENANT, mallory: T1 };
  const entraShape = (idp: () => ShapedIdp): Omit<ShapedIdpOptions, 'client'> => ({
    path: '/organizations/v2.0',
    offline: (q) => (q.get('scope') ?? '').split(' ').includes('offline_access'),
    stripIss: true,
    discovery: (d) => ({ ...d, issuer: `${idp().origin}/{tenantid}/v2.0`, authorization_response_iss_parameter_supported: undefined }),
    // Per-tenant iss and tid, as Entra signs them; mallory's token names another tenant's issuer than its tid.
    idToken: (c) => {
      const tid = tenantOf[c.sub as string]!;
      return { ...c, tid, oid: `oid-${c.sub as string}`, iss: `${idp().origin}/${c.sub === 'mallory' ? T2 : tid}/v2.0` };
    },
  });
  let current: ShapedIdp;
  const preset =
    (extra: Partial<Parameters<typeof providers.microsoft>[0]> = {}) =>
    (idp: ShapedIdp) => {
      current = idp;
      return providers.microsoft({
        tenant: 'organizations',
        clientId: CLIENT_ID,
        clientSecret: CLIENT_SECRET,
        authority: idp.origin,
        ...extra,
        providerConfig: { tokenClaims: (c) => ({ tid: c.tid, oid: c.oid }) },
      });
    };

  it('signs in a work account: iss checked against the template with its own tid; refresh and revoke', async () => {
    const env = await setUp(
      entraShape(() => current),
      preset(),
    );
    const { claims } = await exercise(env, 'alice');
    expect(claims).toEqual({ sub: 'alice', tid: T1, oid: 'oid-alice' });
  });

  it('refuses a personal account under "organizations", a token whose iss is not its tid\'s, and tenants outside allowedTenants', async () => {
    const env = await setUp(
      entraShape(() => current),
      preset(),
    );
    expect(await refused(env.stack, 'carol')).toBe('access_denied');
    expect(env.stack.logs.text()).toContain(`The upstream tenant ${MICROSOFT_CONSUMERS_TENANT} is not allowed`);
    expect(await refused(env.stack, 'mallory')).toBe('access_denied');
    expect(env.stack.logs.text()).toContain('issuer does not match its tenant');
    const only = await setUp(
      entraShape(() => current),
      preset({ allowedTenants: [T1] }),
    );
    expect(await refused(only.stack, 'bob')).toBe('access_denied');
    expect(only.stack.logs.text()).toContain(`The upstream tenant ${T2} is not allowed`);
  });
});

describe('providers.okta(), providers.auth0(), providers.keycloak()', () => {
  const offlineScope = (q: URLSearchParams) => (q.get('scope') ?? '').split(' ').includes('offline_access');

  it('okta: /oauth2/default issuer, refresh token through offline_access', async () => {
    expect(providers.okta({ domain: 'example.okta.com', clientId: CLIENT_ID }).provider).toBe('https://example.okta.com/oauth2/default');
    const env = await setUp({ path: '/oauth2/default', offline: offlineScope }, (idp) => ({
      ...providers.okta({ domain: 'example.okta.com', clientId: CLIENT_ID, clientSecret: CLIENT_SECRET }),
      provider: idp.issuer,
    }));
    const { claims } = await exercise(env, 'alice');
    expect(claims).toMatchObject({ sub: 'alice', email: 'alice@example.com' });
  });

  it('auth0: issuer with a trailing slash, audience sent, credentials in the body, refresh through offline_access', async () => {
    expect(providers.auth0({ domain: 'example.us.auth0.com', clientId: CLIENT_ID }).provider).toBe('https://example.us.auth0.com/');
    const env = await setUp({ path: '/', offline: offlineScope, auth: 'client_secret_post' }, (idp) => ({
      ...providers.auth0({
        domain: 'example.us.auth0.com',
        audience: 'https://api.example.com',
        clientId: CLIENT_ID,
        clientSecret: CLIENT_SECRET,
      }),
      provider: idp.issuer,
    }));
    expect(env.idp.issuer.endsWith('/')).toBe(true);
    await exercise(env, 'bob');
    expect(env.idp.authorizeQueries[0]!.get('audience')).toBe('https://api.example.com');
  });

  it('keycloak: realm issuer, no resource parameter upstream, refresh_expires_in read as the refresh expiry', async () => {
    const env = await setUp(
      {
        path: '/realms/demo',
        offline: () => true,
        refuse: (q) => (q.has('resource') ? 'invalid_request' : undefined),
        tokenResponse: (b) => ({ ...b, refresh_expires_in: 2592000, 'not-before-policy': 0, session_state: 'ss-1' }),
      },
      (idp) => ({ ...providers.keycloak({ url: idp.origin, realm: 'demo', clientId: CLIENT_ID, clientSecret: CLIENT_SECRET }) }),
    );
    expect(env.idp.issuer).toBe(`${env.idp.origin}/realms/demo`);
    const { first } = await exercise(env, 'alice');
    expect(first.refresh_expires_at! - Math.floor(Date.now() / 1000)).toBeGreaterThan(2592000 - 120);
  });
});
