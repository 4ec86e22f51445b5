import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as TransportV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  Client as ClientV2,
  StreamableHTTPClientTransport as TransportV2,
  UnauthorizedError as UnauthorizedV2,
  type OAuthClientProvider as ProviderV2,
} from '@modelcontextprotocol/client';
import { TestBrowser, type Page } from '../helpers/browser.js';
import { connectMcpClient, TestOAuthClientProvider } from '../helpers/mcp.js';
import { connectV2Client } from '../helpers/mcp-v2.js';
import { startMultiAppStack, type MultiAppStack } from '../helpers/multi-app.js';

/**
 * Local mode end to end (issue 10): two real oidc-provider IdPs (CRM, required; ERP, optional),
 * progressive authorization, the official SDK clients of both generations, and the proxy's consent
 * page in a test browser. The per-IdP counters (token-endpoint code grants) and the browser's
 * request log show which IdP each step visited.
 */
let s: MultiAppStack;
beforeAll(async () => {
  s = await startMultiAppStack();
});
afterAll(async () => {
  await s?.close();
});

const asV2 = (p: TestOAuthClientProvider) => p as unknown as ProviderV2;
const visited = (steps: string[], origin: string) => steps.some((step) => step.includes(` ${origin}/`));

interface ToolAnswer {
  isError: boolean;
  body: any;
}
async function call(
  client: { callTool(p: { name: string; arguments?: Record<string, unknown> }): Promise<unknown> },
  name: string,
  args = {},
) {
  const r = (await client.callTool({ name, arguments: args })) as { isError?: boolean; content: Array<{ text: string }> };
  return { isError: !!r.isError, body: JSON.parse(r.content[0]!.text) } as ToolAnswer;
}

/** Runs an authorization URL through `browser` with one login per IdP, until the client's redirect URI. */
async function authorizeWithLogins(browser: TestBrowser, url: URL, redirectUrl: string, logins: Array<[string, string]>) {
  const steps: string[] = [];
  let next = url;
  for (;;) {
    const idp = logins.find(([origin]) => next.origin === origin);
    const r = await browser.authorize(next, {
      login: idp?.[1] ?? 'nobody',
      stopAt: (u) => u.href.startsWith(redirectUrl) || (u.origin !== next.origin && logins.some(([o]) => u.origin === o && o !== idp?.[0])),
    });
    steps.push(...r.steps);
    if (r.url.href.startsWith(redirectUrl)) return { url: r.url, steps };
    next = r.url;
  }
}

describe('the v2 client: sign in with CRM, then step up to ERP on its route', () => {
  it('the ERP route answers 403 naming both scopes; the client re-authorizes; only the ERP IdP is visited; same sid', async () => {
    const browser = new TestBrowser();
    const { client, provider } = await connectV2Client({ serverUrl: `${s.base}/mcp`, browser, login: 'alice' });
    // The 401 on /mcp named the baseline: the required app only.
    expect(provider.lastAuthorizationUrl!.searchParams.get('scope')).toBe('crm');
    const first = (await call(client, 'session')).body;
    expect(first).toMatchObject({ sub: 'alice', apps: ['crm'], scopes: ['crm'] });
    expect((await call(client, 'crm')).body.userinfo).toMatchObject({ sub: 'alice', department: 'sales-emea' });
    // Without ERP the tool gets AuthorizationRequiredError, with a link and the scope to step up with.
    const denied = await call(client, 'erp');
    expect(denied.isError).toBe(true);
    expect(denied.body).toMatchObject({ code: 'AUTHORIZATION_REQUIRED', app: 'erp', scope: 'erp', retryable: false });
    expect(denied.body.authorizeUrl).toMatch(new RegExp(`^${s.issuer}/authorize\\?app=erp&link=`));
    await client.close();

    // The same client connects straight to the ERP route: 403 insufficient_scope, then its own step-up.
    const crmCodes = s.crm.counters.code;
    const erpCodes = s.erp.counters.code;
    const transport = new TransportV2(new URL(`${s.base}/mcp/erp`), { authProvider: asV2(provider) });
    await expect(new ClientV2({ name: 'step-up', version: '1' }).connect(transport)).rejects.toBeInstanceOf(UnauthorizedV2);
    expect(provider.lastAuthorizationUrl!.searchParams.get('scope')).toBe('crm erp');
    const { url, steps } = await authorizeWithLogins(browser, provider.lastAuthorizationUrl!, provider.redirectUrl, [
      [s.crm.issuer, 'alice'],
      [s.erp.issuer, 'a.liddell'],
    ]);
    expect(visited(steps, s.erp.issuer)).toBe(true);
    expect(visited(steps, s.crm.issuer)).toBe(false);
    await transport.finishAuth(url.searchParams.get('code')!, url.searchParams.get('iss') ?? undefined);
    expect(s.crm.counters.code).toBe(crmCodes);
    expect(s.erp.counters.code).toBe(erpCodes + 1);

    const wide = new ClientV2({ name: 'step-up', version: '1' });
    await wide.connect(new TransportV2(new URL(`${s.base}/mcp/erp`), { authProvider: asV2(provider) }));
    const after = (await call(wide, 'session')).body;
    expect(after).toMatchObject({ sub: 'alice', sid: first.sid, apps: ['crm', 'erp'], scopes: ['crm', 'erp'] });
    expect((await call(wide, 'erp')).body.userinfo).toMatchObject({ sub: 'a.liddell', roles: ['approver'] });
    expect((await call(wide, 'crm')).body.userinfo).toMatchObject({ sub: 'alice' });
    // Each app's own claims; the session's claims stay the identity app's.
    expect((await call(wide, 'claims', { app: 'erp' })).body).toMatchObject({ sub: 'a.liddell', roles: ['approver'] });
    expect(after.claims).toMatchObject({ sub: 'alice', department: 'sales-emea' });
    await wide.close();
  });
});

/** Follows an `?app=` link in `browser`: consent (approve), then the IdP logins, to the proxy's final page. */
async function followLink(browser: TestBrowser, link: string, logins: Array<[string, string]>): Promise<Page> {
  const consent = await browser.get(link);
  expect(consent.status).toBe(200);
  let at = (
    await browser.submitForm(
      consent.url,
      consent.body,
      {},
      {
        submitter: { name: 'decision', value: 'approve' },
        stopAt: (u) => logins.some(([o]) => u.origin === o),
      },
    )
  ).stoppedAt!;
  for (;;) {
    const idp = logins.find(([o]) => at.origin === o)!;
    const r = await browser.authorize(at, {
      login: idp[1],
      stopAt: (u) => u.pathname === '/oauth/callback' || (u.origin !== at.origin && logins.some(([o]) => u.origin === o)),
    });
    if (r.url.pathname !== '/oauth/callback') {
      at = r.url;
      continue;
    }
    // The callback either ends the chain (the proxy's page) or sends the browser to the next IdP.
    const page = await browser.get(r.url, { stopAt: (u) => logins.some(([o]) => u.origin === o) });
    if (!page.stoppedAt) return page;
    at = page.stoppedAt;
  }
}

describe('the v1 client and the authorizeUrl a tool shows a person', () => {
  it('v1 gives up on the 403 alone; after the person follows the link, its refresh carries ERP, same sid', async () => {
    const browser = new TestBrowser();
    const { client, provider } = await connectMcpClient({ serverUrl: `${s.base}/mcp/v1`, browser, login: 'bob' });
    const { sid } = (await call(client, 'session')).body;
    const denied = (await call(client, 'erp')).body;
    expect(denied.code).toBe('AUTHORIZATION_REQUIRED');
    await client.close();

    // @modelcontextprotocol/sdk 1.32 first tries its refresh token, which cannot widen a grant, then gives up.
    const v1 = new ClientV1({ name: 'v1', version: '1' });
    await expect(v1.connect(new TransportV1(new URL(`${s.base}/mcp/v1/erp`), { authProvider: provider }))).rejects.toThrow(/403/);

    const crmCodes = s.crm.counters.code;
    const page = await followLink(browser, denied.authorizeUrl, [[s.erp.issuer, 'b.builder']]);
    expect(page.status).toBe(200);
    expect(page.body).toContain('ERP connected');
    expect(s.crm.counters.code).toBe(crmCodes);

    // Now the refresh on the 403 yields a token with ERP, and the v1 client proceeds.
    const again = new ClientV1({ name: 'v1', version: '1' });
    await again.connect(new TransportV1(new URL(`${s.base}/mcp/v1/erp`), { authProvider: provider }));
    expect((await call(again, 'session')).body).toMatchObject({ sid, apps: ['crm', 'erp'] });
    expect((await call(again, 'erp')).body.userinfo).toMatchObject({ sub: 'b.builder' });
    await again.close();
  });
});
afterAll(() => {
  if (process.env.DEBUG_LOGS) console.log(JSON.stringify(s.log.lines.filter((l) => l.level !== 'info').slice(-5), null, 1));
});

describe('an SDK client that connects straight to the app route', () => {
  it('discovers the parent resource, and the first authorization chains both IdPs (CRM first, the identity)', async () => {
    const browser = new TestBrowser();
    const provider = new TestOAuthClientProvider();
    const transport = new TransportV2(new URL(`${s.base}/mcp/erp`), { authProvider: asV2(provider) });
    await expect(new ClientV2({ name: 'direct', version: '1' }).connect(transport)).rejects.toBeInstanceOf(UnauthorizedV2);
    // The route's 401 names the required app and its own.
    expect(provider.lastAuthorizationUrl!.searchParams.get('scope')).toBe('crm erp');
    expect(provider.lastAuthorizationUrl!.searchParams.get('resource')).toBe(`${s.base}/mcp`);
    const { url, steps } = await authorizeWithLogins(browser, provider.lastAuthorizationUrl!, provider.redirectUrl, [
      [s.crm.issuer, 'alice'],
      [s.erp.issuer, 'a.liddell'],
    ]);
    const firstIdp = steps.findIndex((x) => x.includes(s.crm.issuer) || x.includes(s.erp.issuer));
    expect(steps[firstIdp]).toContain(s.crm.issuer);
    await transport.finishAuth(url.searchParams.get('code')!, url.searchParams.get('iss') ?? undefined);
    const client = new ClientV2({ name: 'direct', version: '1' });
    await client.connect(new TransportV2(new URL(`${s.base}/mcp/erp`), { authProvider: asV2(provider) }));
    expect((await call(client, 'session')).body).toMatchObject({ sub: 'alice', apps: ['crm', 'erp'] });
    expect((await call(client, 'erp')).body.userinfo).toMatchObject({ sub: 'a.liddell' });
    await client.close();
  });
});
