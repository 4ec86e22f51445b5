/**
 * A proxy in front of any upstream (a preset, or hand-written options), mounted as the
 * README says, with the MCP test server's `whoami` tool fetching `userinfoUrl` with the
 * upstream token. For the upstream suites of issue 11: the IdP is started first with the
 * callback `http://127.0.0.1:<port>/oauth/callback` and the port reserved here.
 */
import http, { type Server } from 'node:http';
import express from 'express';
import { createOAuthProxy, MemoryStore, type OAuthProxy, type OAuthProxyOptions, type Store } from '../../lib/index.js';
import { namespaced, storeNamespace } from '../../lib/stores/namespaced.js';
import { freePort } from './idp.js';
import { mountMcpServer } from './mcp.js';
import { TEST_SECRET, TEST_VAULT_KEY, recordingLogger } from './proxy.js';

export interface UpstreamStack {
  port: number;
  base: string;
  issuer: string;
  callback: string;
  mcpUrl: string;
  oauth: OAuthProxy;
  /** The store under the proxy's namespace (lib/stores/keys.ts applies). */
  view: Store;
  logs: ReturnType<typeof recordingLogger>;
  close(): Promise<void>;
}

/** Reserves a port; the IdP can be told the callback before the proxy exists. */
export async function reserveProxy(): Promise<{ port: number; base: string; issuer: string; callback: string; mcpUrl: string }> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  return { port, base, issuer: `${base}/oauth`, callback: `${base}/oauth/callback`, mcpUrl: `${base}/mcp` };
}

export async function startUpstreamStack(
  at: Awaited<ReturnType<typeof reserveProxy>>,
  upstream: Pick<OAuthProxyOptions, 'provider' | 'clientId' | 'scopes' | 'providerConfig'> & Partial<OAuthProxyOptions>,
  mcp: { userinfoUrl: string; providerId: string; headers?: Record<string, string> },
  listen: { port?: number } = {},
): Promise<UpstreamStack & { url: string }> {
  const logs = recordingLogger();
  const store = upstream.store ?? new MemoryStore();
  const oauth = createOAuthProxy({
    issuer: at.issuer,
    secret: TEST_SECRET,
    encryptionKey: TEST_VAULT_KEY,
    consent: { enabled: false },
    registration: { rateLimit: false },
    logger: logs.logger,
    ...upstream,
    store,
  } as OAuthProxyOptions);
  const app = express();
  app.use(oauth.wellKnown);
  app.use('/oauth', oauth);
  mountMcpServer(app, '/mcp', oauth.requireSession(), { userinfoUrl: mcp.userinfoUrl, providerId: mcp.providerId });
  const server: Server = http.createServer(app);
  await new Promise<void>((r) => server.listen(listen.port ?? at.port, '127.0.0.1', () => r()));
  return {
    ...at,
    oauth,
    logs,
    view: namespaced(store, storeNamespace(at.issuer)),
    /** Where this instance listens (another port than the issuer's for a second instance). */
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await oauth.close();
      if (!upstream.store) await (store as MemoryStore).close();
    },
  };
}
