import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { TestBrowser, type Page } from '../helpers/browser.js';
import { authorizeUrl, pkcePair, registerClient, tokenRequest, type RegisteredTestClient } from '../helpers/signin.js';
import { startMultiAppStack, type MultiAppStack } from '../helpers/multi-app.js';
import { MemoryStore } from '../../lib/index.js';

/**
 * Local mode (issue 10) without the SDK client, so that each step can be steered: skipping an app
 * at consent and linking it later from another browser, the refusals, one app's invalid_grant,
 * logout revoking every app, and consent memory per app set. Real oidc-provider IdPs (CRM
 * required, ERP optional) and a store that counts vault reads.
 */
class CountingStore extends MemoryStore {
  vaultReads: string[] = [];
  override async get(key: string): Promise<string | undefined> {
    if (key.includes('vault:')) this.vaultReads.push(key);
    return super.get(key);
  }
}

let s: MultiAppStack;
let store: CountingStore;
const skew = { ms: 0 };
beforeAll(async () => {
  store = new CountingStore();
  s = await startMultiAppStack({ store: () => store, options: () => ({ clock: () => Date.now() + skew.ms, accessTokenTtl: 24 * 3600 }) });
});
afterAll(async () => {
  await s?.close();
});

const idpOrigins = () => [s.crm.issuer, s.erp.issuer];

/** Starts an authorization in `browser`; returns the consent page and what redeeming needs. */
async function startAuthorization(browser: TestBrowser, client: RegisteredTestClient, scope: string) {
  const { verifier, challenge } = pkcePair();
  const url = authorizeUrl(s.issuer, { clientId: client.client_id, redirectUri: client.redirect_uris[0]!, state: 'st', challenge, scope });
  const page = await browser.get(url, { stopAt: (u) => idpOrigins().includes(u.origin) });
  return { page, verifier };
}

/** Approves a consent page with `fields` (e.g. `{ app: 'crm' }` to untick ERP); returns the first IdP URL. */
async function approve(browser: TestBrowser, page: Page, fields: Record<string, string> = {}): Promise<URL> {
  const r = await browser.submitForm(page.url, page.body, fields, {
    submitter: { name: 'decision', value: 'approve' },
    stopAt: (u) => idpOrigins().includes(u.origin),
  });
  if (!r.stoppedAt) throw new Error(`approve: no IdP redirect (${r.status})`);
  return r.stoppedAt;
}

/** Signs in at each IdP the chain visits (one login each) until `until` matches; returns that URL and the IdPs seen. */
async function signInChain(browser: TestBrowser, at: URL, logins: Record<string, string>, until: (u: URL) => boolean) {
  const seen: string[] = [];
  for (let next = at; ;) {
    seen.push(next.origin);
    const r = await browser.authorize(next, {
      login: logins[next.origin]!,
      stopAt: (u) => until(u) || u.pathname === '/oauth/callback',
    });
    if (until(r.url)) return { url: r.url, seen };
    const back = await browser.get(r.url, { stopAt: (u) => until(u) || idpOrigins().includes(u.origin) });
    if (!back.stoppedAt) return { url: back.url, seen, page: back };
    if (until(back.stoppedAt)) return { url: back.stoppedAt, seen };
    next = back.stoppedAt;
  }
}

async function redeem(client: RegisteredTestClient, code: string, verifier: string) {
  const r = await tokenRequest(s.issuer, {
    grant_type: 'authorization_code',
    code,
    code_verifier: verifier,
    client_id: client.client_id,
    redirect_uri: client.redirect_uris[0]!,
  });
  expect(r.status).toBe(200);
  return r.body as { access_token: string; refresh_token: string; scope: string };
}

const claimsOf = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()) as Record<string, any>;

/** Full sign-in of `login` (CRM) and optionally ERP; returns the tokens. */
async function signIn(browser: TestBrowser, client: RegisteredTestClient, scope: string, fields: Record<string, string> = {}) {
  const { page, verifier } = await startAuthorization(browser, client, scope);
  // A remembered approval (same client and app set) goes straight to the IdP.
  const first = page.stoppedAt ?? (await approve(browser, page, fields));
  const redirect = client.redirect_uris[0]!;
  const { url, seen } = await signInChain(browser, first, { [s.crm.issuer]: 'alice', [s.erp.issuer]: 'a.liddell' }, (u) =>
    u.href.startsWith(redirect),
  );
  return { ...(await redeem(client, url.searchParams.get('code')!, verifier)), seen };
}

async function mcp(path: string, token: string) {
  const client = new Client({ name: 'lifecycle', version: '1' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${s.base}${path}`), { requestInit: { headers: { authorization: `Bearer ${token}` } } }),
  );
  return {
    call: async (name: string, args = {}) => {
      const r = (await client.callTool({ name, arguments: args })) as { isError?: boolean; content: Array<{ text: string }> };
      return { isError: !!r.isError, body: JSON.parse(r.content[0]!.text) };
    },
    close: () => client.close(),
  };
}

const post = (path: string, token: string) =>
  fetch(`${s.base}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
  });

describe('skip an app at consent, link it later', () => {
  it('the consent page lists both apps; unticking ERP signs in at CRM only; the token carries crm alone', async () => {
    const browser = new TestBrowser();
    const client = await registerClient(s.issuer);
    const { page } = await startAuthorization(browser, client, 'crm erp');
    expect(page.body).toContain('CRM');
    expect(page.body).toContain('ERP');
    expect(page.body).toMatch(/type="hidden" name="app" value="crm"/); // required: no checkbox to untick
    expect(page.body).toMatch(/type="checkbox" id="app-erp" name="app" value="erp" checked/);
    const crmCodes = s.crm.counters.code;
    const erpCodes = s.erp.counters.code;
    const t = await signIn(browser, client, 'crm erp', { app: 'crm' });
    expect(t.seen).toEqual([s.crm.issuer]);
    expect([s.crm.counters.code - crmCodes, s.erp.counters.code - erpCodes]).toEqual([1, 0]);
    expect(t.scope).toBe('crm');
    expect(claimsOf(t.access_token).authorized_apps).toEqual(['crm']);
  });

  it('a required app cannot be skipped: posting only erp still signs in at CRM first', async () => {
    const browser = new TestBrowser();
    const client = await registerClient(s.issuer);
    const t = await signIn(browser, client, 'crm erp', { app: 'erp' });
    expect(t.seen).toEqual([s.crm.issuer, s.erp.issuer]);
    expect(claimsOf(t.access_token).authorized_apps).toEqual(['crm', 'erp']);
  });

  it('from another browser the link first proves the subject at CRM; then ERP is linked and the refresh carries it', async () => {
    const browser = new TestBrowser();
    const client = await registerClient(s.issuer);
    const t = await signIn(browser, client, 'crm', {});
    const session = await mcp('/mcp', t.access_token);
    const denied = await session.call('erp');
    expect(denied.body.code).toBe('AUTHORIZATION_REQUIRED');
    await session.close();

    // Someone else's browser (or the same person's other browser) signs in at CRM as bob: refused, nothing linked.
    const other = new TestBrowser();
    const consent = await other.get(denied.body.authorizeUrl);
    // Nobody is redirected at the end of a link: the page does not say so.
    expect(consent.body).toContain('For the app at');
    expect(consent.body).not.toContain('You will be sent back to');
    const crmUrl = await approve(other, consent);
    expect(crmUrl.origin).toBe(s.crm.issuer);
    const refused = await signInChain(other, crmUrl, { [s.crm.issuer]: 'bob' }, () => false);
    expect(refused.page!.status).toBe(403);
    expect(refused.page!.body).toContain('someone else');

    // The right person: CRM as alice, then ERP; the proxy's page says it is connected.
    const mine = new TestBrowser();
    const again = await mine.get(denied.body.authorizeUrl);
    const done = await signInChain(mine, await approve(mine, again), { [s.crm.issuer]: 'alice', [s.erp.issuer]: 'a.liddell' }, () => false);
    expect(done.seen).toEqual([s.crm.issuer, s.erp.issuer]);
    expect(done.page!.status).toBe(200);
    expect(done.page!.body).toContain('ERP connected');

    const refreshed = await tokenRequest(s.issuer, {
      grant_type: 'refresh_token',
      refresh_token: t.refresh_token,
      client_id: client.client_id,
    });
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.scope).toBe('crm erp');
    expect(claimsOf(refreshed.body.access_token)).toMatchObject({ sid: claimsOf(t.access_token).sid, authorized_apps: ['crm', 'erp'] });
  });

  it('&app=erp on an ordinary authorization request asks for ERP as its scope would', async () => {
    const browser = new TestBrowser();
    const client = await registerClient(s.issuer);
    const { challenge } = pkcePair();
    const url = authorizeUrl(s.issuer, {
      clientId: client.client_id,
      redirectUri: client.redirect_uris[0]!,
      state: 'st',
      challenge,
      scope: 'crm',
    });
    url.searchParams.set('app', 'erp');
    const page = await browser.get(url);
    expect(page.status).toBe(200);
    expect(page.body).toMatch(/type="checkbox" id="app-erp" name="app" value="erp" checked/);
  });

  it('a link that was tampered with is refused with a page', async () => {
    const res = await fetch(`${s.issuer}/authorize?app=erp&link=v1.forged.AAAA.BBBB.CCCC`);
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('not valid');
  });
});

describe('refusals', () => {
  let client: RegisteredTestClient;
  let crmOnly: { access_token: string };
  beforeAll(async () => {
    client = await registerClient(s.issuer);
    crmOnly = await signIn(new TestBrowser(), client, 'crm');
  });

  it('a token without ERP on the ERP route: 403 insufficient_scope naming every scope needed, and no vault read', async () => {
    store.vaultReads = [];
    const res = await post('/mcp/erp', crmOnly.access_token);
    expect(res.status).toBe(403);
    const challenge = res.headers.get('www-authenticate')!;
    expect(challenge).toContain('error="insufficient_scope"');
    expect(challenge).toContain('scope="crm erp"');
    expect(challenge).toContain(`resource_metadata="${s.base}/.well-known/oauth-protected-resource/mcp"`);
    expect(store.vaultReads).toEqual([]);
  });

  it('getToken() of an app the token lacks throws AuthorizationRequiredError without reading the vault', async () => {
    const session = await mcp('/mcp', crmOnly.access_token);
    store.vaultReads = [];
    expect((await session.call('erp')).body.code).toBe('AUTHORIZATION_REQUIRED');
    expect(store.vaultReads.filter((k) => k.endsWith(':erp'))).toEqual([]);
    expect((await session.call('claims', { app: 'erp' })).body).toEqual({ code: 'AUTHORIZATION_REQUIRED', app: 'erp' });
    await session.close();
  });

  it('a token whose authorized_apps was widened by hand is refused (401)', async () => {
    const [h, p, sig] = crmOnly.access_token.split('.');
    const payload = { ...JSON.parse(Buffer.from(p!, 'base64url').toString()), authorized_apps: ['crm', 'erp'] };
    const forged = `${h}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${sig}`;
    const res = await post('/mcp/erp', forged);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain('error="invalid_token"');
  });

  it('an unknown scope or app is invalid_scope, never dropped; an unknown app route is a startup error', async () => {
    const browser = new TestBrowser();
    for (const extra of [{ scope: 'crm payroll' }, { scope: 'crm', app: 'payroll' }]) {
      const { challenge } = pkcePair();
      const url = authorizeUrl(s.issuer, {
        clientId: client.client_id,
        redirectUri: client.redirect_uris[0]!,
        state: 'st',
        challenge,
        scope: extra.scope,
      });
      if (extra.app) url.searchParams.set('app', extra.app);
      const page = await browser.get(url);
      expect(page.status).toBe(400);
      expect(page.body).toContain('invalid_scope');
    }
    expect(() => s.oauth.requireSession({ app: 'payroll' })).toThrow(/"opts.app" must be one of "crm", "erp"/);
  });
});

describe('one app’s invalid_grant, logout, consent memory', () => {
  it('ERP’s refresh token refused: ERP loses its link, CRM keeps working; logout revokes at both IdPs', async () => {
    const browser = new TestBrowser();
    const client = await registerClient(s.issuer);
    const t = await signIn(browser, client, 'crm erp');
    const sid = claimsOf(t.access_token).sid as string;
    const session = await mcp('/mcp', t.access_token);
    expect((await session.call('erp')).body.userinfo).toMatchObject({ sub: 'a.liddell' });
    // Both upstream tokens are now past expiry; ERP's IdP refuses the refresh token (invalid_grant).
    skew.ms += 2 * 3600 * 1000;
    s.erp.failRefreshWithInvalidGrant();
    const erp = await session.call('erp');
    expect(erp.body).toMatchObject({ code: 'AUTHORIZATION_REQUIRED', app: 'erp' });
    expect((await session.call('crm')).body.userinfo).toMatchObject({ sub: 'alice' });
    await session.close();
    const refreshed = await tokenRequest(s.issuer, {
      grant_type: 'refresh_token',
      refresh_token: t.refresh_token,
      client_id: client.client_id,
    });
    expect(claimsOf(refreshed.body.access_token).authorized_apps).toEqual(['crm']);
    expect(refreshed.body.scope).toBe('crm');
    skew.ms = 0; // back to the IdPs' time, so their new id_tokens verify

    // Link ERP again (same browser, so only ERP is visited), then log out: both upstreams revoke.
    const again = await signIn(browser, client, 'crm erp');
    expect(again.seen).toEqual([s.erp.issuer]);
    expect(claimsOf(again.access_token).sid).toBe(sid);
    const revoked = [s.crm.counters.revocation, s.erp.counters.revocation];
    await s.oauth.logout(sid);
    expect([s.crm.counters.revocation - revoked[0]!, s.erp.counters.revocation - revoked[1]!]).toEqual([1, 1]);
    expect((await post('/mcp', again.access_token)).status).toBe(401);
  });

  it('consent is remembered per browser, client and app set: the same set does not ask, adding an app does', async () => {
    const browser = new TestBrowser();
    const client = await registerClient(s.issuer);
    await signIn(browser, client, 'crm', {});
    const same = await startAuthorization(browser, client, 'crm');
    expect(same.page.stoppedAt?.origin).toBe(s.crm.issuer); // straight to the IdP: no consent page
    const wider = await startAuthorization(browser, client, 'crm erp');
    expect(wider.page.stoppedAt).toBeUndefined();
    expect(wider.page.body).toContain('Apps to connect');
    expect(wider.page.body).toMatch(/Connected/);
  });
});
