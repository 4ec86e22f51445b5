import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import type { Browser } from 'playwright-core';
import { authorizeUrl, exchangeCode, pkce, registerClient } from '../helpers/oauth-flow.js';
import { launchChromium, screenshotWidths, signInAtIdp, startCallbackServer, type CallbackServer, WIDTHS } from '../helpers/chromium.js';
import { startMultiAppStack, type MultiAppStack } from '../helpers/multi-app.js';

/**
 * Local mode's consent page in a real browser (headless Chromium, issue 10): the app list renders
 * without sideways scrolling at 390 px, a real click unticks the optional app, and the chain then
 * visits only the required app's IdP. Screenshots go to artifacts/screenshots/.
 */
let browser: Browser;
let cb: CallbackServer;
let s: MultiAppStack;
beforeAll(async () => {
  browser = await launchChromium();
  cb = await startCallbackServer();
  s = await startMultiAppStack();
});
afterAll(async () => {
  await browser?.close();
  await cb?.close();
  await s?.close();
});

describe('Chromium, local mode', () => {
  it('lists the apps (CRM required, ERP skippable); unticking ERP by a click signs in at CRM only', async () => {
    const reg = await registerClient(s.issuer, {
      redirect_uris: [cb.redirectUri],
      token_endpoint_auth_method: 'none',
      client_name: 'Chromium Local',
    });
    const { challenge, verifier } = pkce();
    const context = await browser.newContext({ viewport: { width: WIDTHS.desktop, height: 900 } });
    try {
      const page = await context.newPage();
      const url = authorizeUrl(s.issuer, {
        clientId: reg.client_id,
        redirectUri: cb.redirectUri,
        challenge,
        state: 'local',
        scope: 'crm erp',
      });
      expect((await page.goto(url.href))?.status()).toBe(200);
      expect(await page.locator('.apps li').count()).toBe(2);
      expect(await page.locator('input[type="checkbox"][name="app"]').count()).toBe(1); // only ERP can be unticked
      const widths = await screenshotWidths(page, 'consent-local-apps');
      expect(widths.phone).toBeLessThanOrEqual(WIDTHS.phone);

      await page.locator('label[for="app-erp"]').click();
      expect(await page.locator('#app-erp').isChecked()).toBe(false);
      const crmCodes = s.crm.counters.code;
      const erpCodes = s.erp.counters.code;
      await Promise.all([
        page.waitForURL((u) => u.origin === s.crm.issuer),
        page.locator('button[name="decision"][value="approve"]').click(),
      ]);
      await signInAtIdp(page, 'alice', (u) => u.href.startsWith(cb.redirectUri));
      expect([s.crm.counters.code - crmCodes, s.erp.counters.code - erpCodes]).toEqual([1, 0]);
      const code = cb.hits.at(-1)!.searchParams.get('code')!;
      const token = await exchangeCode(s.issuer, { clientId: reg.client_id, code, verifier, redirectUri: cb.redirectUri });
      expect(token.body.scope).toBe('crm');
      const claims = JSON.parse(Buffer.from(String(token.body.access_token).split('.')[1]!, 'base64url').toString());
      expect(claims.authorized_apps).toEqual(['crm']);
    } finally {
      await context.close();
    }
  });
});
