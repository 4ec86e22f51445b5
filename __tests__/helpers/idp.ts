/**
 * Test wrappers around the demo IdP (examples/demo-idp.ts).
 *
 * Port chicken-and-egg: the proxy's issuer must be known before `createOAuthProxy()`, and the IdP
 * must know the proxy's callback. Pick the proxy port first:
 *
 *   const port = await freePort();
 *   const idp = await startTestIdp({ redirectUri: `http://127.0.0.1:${port}/oauth/callback` });
 *   const oauth = createOAuthProxy({ issuer: `http://127.0.0.1:${port}/oauth`, provider: idp.issuer,
 *     clientId: idp.clientId, clientSecret: idp.clientSecret, ... });
 *   const server = app.listen(port, '127.0.0.1');
 *
 * (Or start the IdP without clients and call `idp.addClient(...)` once the port is known.)
 */
import { createServer } from 'node:net';
import type { DemoIdp, DemoIdpClient, DemoIdpOptions } from '../../examples/demo-idp.js';

export type { DemoIdp, DemoIdpClient, DemoIdpOptions };

// oidc-provider's start-up warnings (Node 20, memory adapter, devInteractions, parsed body) are
// expected here; drop them unless DEMO_IDP_VERBOSE is set. Installed before oidc-provider loads
// (startDemoIdp is imported lazily below), so the import-time warning is filtered too.
if (!process.env.DEMO_IDP_VERBOSE) {
  const warn = console.warn.bind(console);
  console.warn = (...args: unknown[]) => {
    if (typeof args[0] === 'string' && args[0].includes('oidc-provider WARNING')) return;
    warn(...args);
  };
}

export const TEST_CLIENT_ID = 'mcp-oauth-proxy';
export const TEST_CLIENT_SECRET = 'test-upstream-client-secret-0123456789';

export interface TestIdpOptions extends DemoIdpOptions {
  /** Shortcut for one confidential client (`clientId`/`clientSecret` below) with this redirect URI. Ignored when `clients` is given. */
  redirectUri?: string;
  /** Default {@link TEST_CLIENT_ID}. */
  clientId?: string;
  /** Default {@link TEST_CLIENT_SECRET}. */
  clientSecret?: string;
}

export interface TestIdp extends DemoIdp {
  /** The shortcut client's credentials (meaningful when `redirectUri` was used). */
  clientId: string;
  clientSecret: string;
}

/** Starts a demo IdP on 127.0.0.1 and a free port. Remember `await idp.close()` in afterAll. */
export async function startTestIdp(options: TestIdpOptions = {}): Promise<TestIdp> {
  const { redirectUri, clientId = TEST_CLIENT_ID, clientSecret = TEST_CLIENT_SECRET, ...rest } = options;
  const clients = rest.clients ?? (redirectUri ? [{ clientId, clientSecret, redirectUris: [redirectUri] }] : []);
  const { startDemoIdp } = await import('../../examples/demo-idp.js');
  const idp = await startDemoIdp({ port: 0, host: '127.0.0.1', ...rest, clients });
  return Object.assign(idp, { clientId, clientSecret });
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (addr && typeof addr === 'object' ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}
