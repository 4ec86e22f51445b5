/**
 * `npm start`: an MCP server (official SDK v2, protocol 2026-07-28 and the 2025
 * revisions) behind mcp-oauth-proxy, in front of
 * a bundled local demo IdP (oidc-provider). Sign in as `alice` or `bob` with any
 * password.
 *
 *   MCP endpoint   http://localhost:3000/mcp
 *   OAuth issuer   http://localhost:3000/oauth
 *   demo IdP       http://localhost:4000
 *
 * Environment: PORT (3000), IDP_PORT (4000), OAUTH_PROXY_SECRET and
 * OAUTH_PROXY_VAULT_KEY (random when unset: sessions then die with the process),
 * REDIS_URL (use RedisStore instead of the in-memory store).
 */
import { createMcpExpressApp } from '@modelcontextprotocol/express';
import { McpServer, createMcpHandler } from '@modelcontextprotocol/server';
import { toNodeHandler } from '@modelcontextprotocol/node';
import {
  createOAuthProxy,
  getSession,
  requireSession,
  ReauthenticationRequiredError,
  MemoryStore,
  RedisStore,
  type Store,
} from '../lib/index.js';
import { startDemoIdp } from './demo-idp.js';

const PORT = Number(process.env.PORT ?? 3000);
const IDP_PORT = Number(process.env.IDP_PORT ?? 4000);
const BASE = `http://localhost:${PORT}`;

// 1. The upstream IdP. In real life this is your company's IdP, where the proxy is a pre-registered client.
const idp = await startDemoIdp({
  port: IDP_PORT,
  host: 'localhost',
  clients: [{ clientId: 'mcp-oauth-proxy-demo', clientSecret: 'demo-client-secret-change-me', redirectUris: [`${BASE}/oauth/callback`] }],
});

async function chooseStore(): Promise<Store> {
  if (!process.env.REDIS_URL) return new MemoryStore();
  const { createClient } = await import('redis');
  const client = createClient({ url: process.env.REDIS_URL });
  await client.connect();
  return new RedisStore({ client });
}

// 2. The proxy: a complete OAuth server for MCP clients, signing people in at the IdP.
const oauth = createOAuthProxy({
  issuer: `${BASE}/oauth`,
  provider: idp.issuer,
  clientId: 'mcp-oauth-proxy-demo',
  clientSecret: 'demo-client-secret-change-me',
  scopes: ['openid', 'profile', 'email', 'offline_access'],
  providerConfig: { id: 'upstream' },
  secret: process.env.OAUTH_PROXY_SECRET,
  encryptionKey: process.env.OAUTH_PROXY_VAULT_KEY,
  store: await chooseStore(),
});

// 3. The MCP server (SDK v2). Its tool calls the IdP with the upstream token, which never leaves the server.
function mcpServer(): McpServer {
  const server = new McpServer({ name: 'mcp-oauth-proxy-demo', version: '1.0.0' });
  server.registerTool('whoami', { description: 'Who am I at the identity provider? (calls its userinfo endpoint)' }, async (ctx) => {
    const { upstreamTokens, claims } = getSession(ctx);
    try {
      const token = await upstreamTokens.getToken('upstream');
      const res = await fetch(idp.endpoints.userinfo, { headers: { authorization: `Bearer ${token}` } });
      return { content: [{ type: 'text', text: JSON.stringify({ userinfo: await res.json(), department: claims.department }, null, 2) }] };
    } catch (err) {
      if (err instanceof ReauthenticationRequiredError) return { isError: true, content: [{ type: 'text', text: err.message }] };
      throw err;
    }
  });
  return server;
}

// The SDK v2 app: Host and Origin checks for localhost, and express.json() for the whole app.
const app = createMcpExpressApp({ host: 'localhost' });
// Browser-based clients (MCP Inspector) call /mcp cross-origin; 2026-07-28 clients send Mcp-Method and Mcp-Name.
app.use('/mcp', (req, res, next) => {
  res.set({
    'Access-Control-Allow-Origin': '*',
    'Access-Control-Allow-Headers':
      'Authorization, Content-Type, Mcp-Session-Id, MCP-Protocol-Version, Mcp-Method, Mcp-Name, Last-Event-ID',
    'Access-Control-Allow-Methods': 'GET, POST, DELETE, OPTIONS',
    'Access-Control-Expose-Headers': 'WWW-Authenticate, Mcp-Session-Id, MCP-Protocol-Version',
  });
  if (req.method === 'OPTIONS') return void res.status(204).end();
  next();
});
app.use(oauth.wellKnown);
app.use('/oauth', oauth);
app.get('/ready', async (_req, res) => {
  const state = await oauth.ready();
  res.status(state.ready ? 200 : 503).json(state);
});
// Protocol 2026-07-28 per request, and 2025-era clients through the SDK's stateless fallback.
const mcp = toNodeHandler(createMcpHandler(() => mcpServer()));
app.all('/mcp', requireSession({ allowedHosts: ['localhost', '127.0.0.1', '[::1]'] }), (req, res) => mcp(req, res, req.body));

app.listen(PORT, () => {
  console.log(`
  MCP server:  ${BASE}/mcp   (protected by mcp-oauth-proxy)
  OAuth:       ${BASE}/oauth (issuer)   demo IdP: ${idp.issuer}

  Connect MCP Inspector 2.x:  npx @modelcontextprotocol/inspector
    Add Servers → Add manually → transport "streamable-http" → URL ${BASE}/mcp → Add,
    then turn the server on. Approve the consent page, sign in as alice (any password),
    and call the "whoami" tool.
  Or Claude Code:         claude mcp add --transport http demo ${BASE}/mcp
`);
});
