/**
 * `npm start`: an MCP server (official SDK) behind mcp-oauth-proxy, in front of
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
import express, { type Request, type Response } from 'express';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { createOAuthProxy, requireSession, ReauthenticationRequiredError, MemoryStore, RedisStore, type SessionAuthExtra, type Store } from '../lib/index.js';
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

// 3. The MCP server. Its tool calls the IdP with the upstream token, which never leaves the server.
function mcpServer(): McpServer {
  const server = new McpServer({ name: 'mcp-oauth-proxy-demo', version: '1.0.0' });
  server.registerTool('whoami', { description: 'Who am I at the identity provider? (calls its userinfo endpoint)' }, async (extra) => {
    const { upstreamTokens, claims } = extra.authInfo!.extra as unknown as SessionAuthExtra;
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

const app = express();
// Browser-based clients (MCP Inspector in direct mode) call /mcp cross-origin.
app.use('/mcp', (req, res, next) => {
  res.set({
    'Access-Control-Allow-Origin': '*',
    'Access-Control-Allow-Headers': 'Authorization, Content-Type, Mcp-Session-Id, MCP-Protocol-Version, Last-Event-ID',
    'Access-Control-Allow-Methods': 'GET, POST, DELETE, OPTIONS',
    'Access-Control-Expose-Headers': 'WWW-Authenticate, Mcp-Session-Id',
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
app.all('/mcp', requireSession(), express.json(), async (req: Request, res: Response) => {
  const server = mcpServer();
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
  res.on('close', () => { void transport.close(); void server.close(); });
  await server.connect(transport);
  await transport.handleRequest(req, res, req.body);
});

app.listen(PORT, () => {
  console.log(`
  MCP server:  ${BASE}/mcp   (protected by mcp-oauth-proxy)
  OAuth:       ${BASE}/oauth (issuer)   demo IdP: ${idp.issuer}

  Connect MCP Inspector:  npx @modelcontextprotocol/inspector
    Transport "Streamable HTTP", URL ${BASE}/mcp, then "Open Auth Settings" → "Quick OAuth Flow".
    Approve the consent page, sign in as alice (any password), then call the "whoami" tool.
  Or Claude Code:         claude mcp add --transport http demo ${BASE}/mcp
`);
});
