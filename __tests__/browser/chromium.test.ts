import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import http, { type Server } from 'node:http';
import express, { type Express } from 'express';
import { createMcpExpressApp } from '@modelcontextprotocol/express';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import type { Browser } from 'playwright-core';
import { createOAuthProxy, MemoryStore, type OAuthProxy } from '../../lib/index.js';
import { freePort, startTestIdp, type TestIdp } from '../helpers/idp.js';
import { TEST_SECRET, TEST_VAULT_KEY, recordingLogger } from '../helpers/proxy.js';
import { mountMcpServerV2, callToolV2 } from '../helpers/mcp-v2.js';
import { authorizeUrl, exchangeCode, pkce, registerClient } from '../helpers/oauth-flow.js';
import { launchChromium, screenshotWidths, signInAtIdp, startCallbackServer, type CallbackServer, WIDTHS } from '../helpers/chromium.js';

/**
 * The sign-in in a real browser (headless Chromium): real cookies (SameSite, Path, HttpOnly), real
 * form posts with the Origin the browser chooses under our Referrer-Policy, real redirects. The
 * IdP runs on `localhost` and the proxy on `127.0.0.1`, so the IdP's redirect back to the proxy is
 * a cross-site navigation, as with a real IdP. The MCP client's redirect URI is a loopback server of
 * the test's own, which records the code; the test redeems it with the PKCE verifier and calls the
 * protected MCP route with the token. Screenshots go to artifacts/screenshots/.
 */

interface Shape {
  base: string;
  issuer: string;
  idp: TestIdp;
  /** `POST <path>` → the Origin header the app received (absent: `undefined`). */
  posts: Array<{ path: string; origin: string | undefined }>;
  /**
   * While set, the app answers `/oauth/callback` itself (a page saying it was held) and keeps the URL
   * here instead of passing it to the proxy: how the test takes the upstream callback URL out of
   * browser A. (Playwright's `page.route` does not see the hops of a redirect chain.)
   */
  hold: { on: boolean; urls: string[] };
  close(): Promise<void>;
}

async function startShape(makeApp: () => Express): Promise<Shape> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const issuer = `${base}/oauth`;
  const idp = await startTestIdp({ host: 'localhost', redirectUri: `${issuer}/callback` });
  const store = new MemoryStore();
  const oauth: OAuthProxy = createOAuthProxy({
    issuer,
    provider: idp.issuer,
    clientId: idp.clientId,
    clientSecret: idp.clientSecret,
    scopes: ['openid', 'profile', 'email', 'offline_access'],
    providerConfig: { id: 'upstream' },
    secret: TEST_SECRET,
    encryptionKey: TEST_VAULT_KEY,
    consent: { enabled: true },
    registration: { rateLimit: false },
    logger: recordingLogger().logger,
    store,
  });
  const app = makeApp();
  const posts: Shape['posts'] = [];
  app.use((req, _res, next) => {
    if (req.method === 'POST') posts.push({ path: req.path, origin: req.headers.origin });
    next();
  });
  const hold: Shape['hold'] = { on: false, urls: [] };
  app.use('/oauth/callback', (req, res, next) => {
    if (!hold.on) return next();
    hold.urls.push(`${base}${req.originalUrl}`);
    res.type('html').send('<!doctype html><p>held by the test</p>');
  });
  app.use(oauth.wellKnown);
  app.use('/oauth', oauth);
  mountMcpServerV2(app, '/mcp', oauth.requireSession(), { userinfoUrl: `${idp.issuer}/me` });
  const server: Server = http.createServer(app);
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
  return {
    base,
    issuer,
    idp,
    posts,
    hold,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await oauth.close();
      await store.close();
      await idp.close();
    },
  };
}

const shapes: Array<[string, string, () => Express]> = [
  ['a plain express() app', 'express', () => express()],
  ['createMcpExpressApp() of @modelcontextprotocol/express 2.x (Host and Origin checks)', 'mcp-express-app', () => createMcpExpressApp()],
];

let browser: Browser;
let cb: CallbackServer;
beforeAll(async () => {
  browser = await launchChromium();
  cb = await startCallbackServer();
});
afterAll(async () => {
  await browser?.close();
  await cb?.close();
});

describe.each(shapes)('Chromium, %s', (_name, slug, makeApp) => {
  let s: Shape;
  let clientId: string;
  beforeAll(async () => {
    s = await startShape(makeApp);
    const reg = await registerClient(s.issuer, {
      redirect_uris: [cb.redirectUri],
      token_endpoint_auth_method: 'none',
      client_name: 'Chromium Test Client',
    });
    clientId = reg.client_id;
  });
  afterAll(async () => {
    await s?.close();
  });

  it('signs in through the consent page, the IdP login and the callback; the code redeems with PKCE and the token calls /mcp', async () => {
    const { challenge, verifier } = pkce();
    const state = `ok-${slug}`;
    const context = await browser.newContext({ viewport: { width: WIDTHS.desktop, height: 900 } });
    try {
      const page = await context.newPage();
      const consent = await page.goto(authorizeUrl(s.issuer, { clientId, redirectUri: cb.redirectUri, challenge, state }).href);
      expect(consent?.status()).toBe(200);
      expect(await page.locator('h1').innerText()).toMatch(/^Allow 127\.0\.0\.1:\d+ to access/);
      expect(consent?.headers()['referrer-policy']).toBe('same-origin');
      const widths = await screenshotWidths(page, `consent-${slug}`);
      expect(widths.phone).toBeLessThanOrEqual(WIDTHS.phone);

      // The browser-session cookie as Chromium stored it.
      const cookies = await context.cookies(s.issuer);
      expect(cookies.length).toBeGreaterThan(0);
      for (const c of cookies)
        expect({ httpOnly: c.httpOnly, sameSite: c.sameSite, path: c.path }).toEqual({ httpOnly: true, sameSite: 'Lax', path: '/oauth' });

      const hitsBefore = cb.hits.length;
      await Promise.all([
        page.waitForURL((u) => u.origin === s.idp.issuer),
        page.locator('button[name="decision"][value="approve"]').click(),
      ]);
      // The consent form posted with the page's real Origin (not "null"), which createMcpExpressApp() requires.
      expect(s.posts.filter((p) => p.path === '/oauth/consent')).toEqual([{ path: '/oauth/consent', origin: s.base }]);

      await signInAtIdp(page, 'alice', (u) => u.href.startsWith(cb.redirectUri));
      expect(cb.hits.length).toBe(hitsBefore + 1);
      const back = cb.hits.at(-1)!;
      expect(back.searchParams.get('state')).toBe(state);
      expect(back.searchParams.get('iss')).toBe(s.issuer);
      const code = back.searchParams.get('code')!;
      expect(code).toBeTruthy();

      const token = await exchangeCode(s.issuer, { clientId, code, verifier, redirectUri: cb.redirectUri });
      expect(token.status).toBe(200);
      expect(typeof token.body.access_token).toBe('string');

      const client = new Client({ name: 'chromium-test', version: '1.0.0' });
      await client.connect(
        new StreamableHTTPClientTransport(new URL(`${s.base}/mcp`), {
          requestInit: { headers: { authorization: `Bearer ${token.body.access_token as string}` } },
        }),
      );
      try {
        expect((await callToolV2(client, 'whoami')).sub).toBe('alice');
        expect((await callToolV2(client, 'claims')).clientId).toBe(clientId);
      } finally {
        await client.close();
      }
    } finally {
      await context.close();
    }
  });

  it('refuses the cross-browser attack with real cookies: started in browser A, the upstream callback opened in browser B gets 403 and no code', async () => {
    const { challenge } = pkce();
    const a = await browser.newContext({ viewport: { width: WIDTHS.desktop, height: 900 } });
    const b = await browser.newContext({ viewport: { width: WIDTHS.desktop, height: 900 } });
    try {
      const pageA = await a.newPage();
      // Browser A signs in at the IdP; the IdP's redirect back to the proxy is held, its URL kept.
      s.hold.on = true;
      await pageA.goto(authorizeUrl(s.issuer, { clientId, redirectUri: cb.redirectUri, challenge, state: `attack-${slug}` }).href);
      await Promise.all([
        pageA.waitForURL((u) => u.origin === s.idp.issuer),
        pageA.locator('button[name="decision"][value="approve"]').click(),
      ]);
      await signInAtIdp(pageA, 'alice', (u) => u.href.startsWith(`${s.issuer}/callback`));
      s.hold.on = false;
      expect(s.hold.urls).toHaveLength(1);
      const upstreamCallback = s.hold.urls.pop()!;
      expect(new URL(upstreamCallback).searchParams.get('code')).toBeTruthy();

      // Browser B (its own cookies, none of A's) opens that callback URL: refused, nothing sent to the app.
      const hitsBefore = cb.hits.length;
      const pageB = await b.newPage();
      const refused = await pageB.goto(upstreamCallback);
      expect(refused?.status()).toBe(403);
      expect(pageB.url()).toBe(upstreamCallback);
      expect(await pageB.locator('h1').innerText()).toBe('This sign-in cannot be completed in this browser');
      expect(await pageB.innerText('body')).toContain('started in another browser');
      const widths = await screenshotWidths(pageB, `error-another-browser-${slug}`);
      expect(widths.phone).toBeLessThanOrEqual(WIDTHS.phone);

      // The state was used up by the refused attempt: browser A cannot finish it either; no code at all.
      const late = await pageA.goto(upstreamCallback);
      expect(late?.status()).toBe(400);
      expect(cb.hits.length).toBe(hitsBefore);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
