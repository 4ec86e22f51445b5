/**
 * Headless Chromium for the browser suite: Debian's `chromium` package (installed by `.ci/run` when
 * missing), driven by playwright-core, which downloads no browser. Each `launchChromium()` is a new
 * browser process on a fresh, throw-away profile (playwright creates a new user-data-dir per launch);
 * each `browser.newContext()` is a separate cookie jar, i.e. "another browser" for the proxy.
 *
 * Also here: a loopback redirect target for the MCP client (a tiny http server that records what
 * reaches it), the IdP's devInteractions login, and screenshots into artifacts/screenshots/.
 */
import http, { type Server } from 'node:http';
import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** The flags CI runs with: no GPU, no QUIC, none of the browser's own background traffic. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true, timeout: 30_000 });
}

/** `<repo>/artifacts/screenshots` (gitignored), created on first use. */
export const SCREENSHOT_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'artifacts', 'screenshots');

export const WIDTHS = { desktop: 1280, phone: 390 } as const;

/**
 * Screenshots the page at each width (full page) into {@link SCREENSHOT_DIR} as `<name>-<width>.png`
 * and returns, per width, the document's scroll width (to check that nothing scrolls sideways).
 */
export async function screenshotWidths(page: Page, name: string): Promise<Record<keyof typeof WIDTHS, number>> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const out = {} as Record<keyof typeof WIDTHS, number>;
  for (const [key, width] of Object.entries(WIDTHS) as Array<[keyof typeof WIDTHS, number]>) {
    await page.setViewportSize({ width, height: 900 });
    // A string: the test tsconfig has no DOM types, and the expression runs in the page.
    out[key] = await page.evaluate<number>('document.documentElement.scrollWidth');
    await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}-${width}.png`), fullPage: true });
  }
  await page.setViewportSize({ width: WIDTHS.desktop, height: 900 });
  return out;
}

/** A loopback redirect URI (`http://127.0.0.1:<port>/cb`) served by a server that records what reaches it. */
export interface CallbackServer {
  redirectUri: string;
  /** Full URLs of every request for `/cb` (the browser's own `/favicon.ico` is not one). */
  hits: URL[];
  close(): Promise<void>;
}

export async function startCallbackServer(): Promise<CallbackServer> {
  const hits: URL[] = [];
  const server: Server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', `http://${req.headers.host ?? '127.0.0.1'}`);
    if (url.pathname !== '/cb') return void res.writeHead(404).end();
    hits.push(url);
    res
      .writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
      .end('<!doctype html><title>Signed in</title><p>You can close this window.</p>');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  return {
    redirectUri: `http://127.0.0.1:${port}/cb`,
    hits,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/**
 * At the demo IdP (oidc-provider's devInteractions): fills in the login form and confirms its consent
 * form, until the page's URL satisfies `done`. Clicks real buttons; no form is posted by hand.
 */
export async function signInAtIdp(page: Page, login: string, done: (url: URL) => boolean): Promise<void> {
  for (let step = 0; step < 6; step++) {
    if (done(new URL(page.url()))) return;
    const loginField = page.locator('input[name="login"]');
    const consent = page.locator('input[name="prompt"][value="consent"]');
    if ((await loginField.count()) > 0) {
      await loginField.fill(login);
      await page.locator('input[name="password"]').fill('any-password');
      await Promise.all([page.waitForNavigation(), page.locator('form button[type="submit"], form [type="submit"]').first().click()]);
    } else if ((await consent.count()) > 0) {
      await Promise.all([page.waitForNavigation(), page.locator('form button[type="submit"], form [type="submit"]').first().click()]);
    } else {
      throw new Error(`signInAtIdp: unexpected page at ${new URL(page.url()).pathname}: ${(await page.innerText('body')).slice(0, 200)}`);
    }
  }
  if (!done(new URL(page.url()))) throw new Error(`signInAtIdp: gave up at ${new URL(page.url()).pathname}`);
}
