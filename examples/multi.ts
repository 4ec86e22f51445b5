/**
 * `npm run start:multi`: one MCP server in front of two apps, each with its own
 * identity provider (two bundled demo IdPs), with progressive authorization:
 * sign in at the CRM IdP (required), and link the ERP IdP only when a tool needs it.
 *
 *   MCP endpoint      http://localhost:3000/mcp        (any signed-in session: crm_* tools)
 *   ERP route         http://localhost:3000/mcp/erp    (requireSession({ app: 'erp' }): erp_* tools)
 *   OAuth issuer      http://localhost:3000/oauth
 *   CRM IdP           http://localhost:4000            sign in as alice or bob, any password
 *   ERP IdP           http://127.0.0.1:4001            sign in as a.liddell or b.builder, any password
 *
 * Try it with MCP Inspector 2.x on http://localhost:3000/mcp: call `crm_whoami`, then
 * `erp_whoami` (it answers with a link that connects ERP), or add the server a second time
 * at http://localhost:3000/mcp/erp: its 403 makes the client step up, and only the ERP IdP
 * is visited. Environment: PORT (3000), CRM_IDP_PORT (4000), ERP_IDP_PORT (4001),
 * OAUTH_PROXY_SECRET and OAUTH_PROXY_VAULT_KEY (random when unset).
 */
import { createMcpExpressApp } from '@modelcontextprotocol/express';
import { McpServer, createMcpHandler } from '@modelcontextprotocol/server';
import { toNodeHandler } from '@modelcontextprotocol/node';
import type { RequestHandler } from 'express';
import { AuthorizationRequiredError, createOAuthProxy, getSession, type SessionSource } from '../lib/index.js';
import { startDemoIdp } from './demo-idp.js';

const PORT = Number(process.env.PORT ?? 3000);
const BASE = `http://localhost:${PORT}`;
const CALLBACK = `${BASE}/oauth/callback`;

// 1. Two upstream IdPs. ERP runs on 127.0.0.1, another host than the CRM IdP, so their browser cookies never meet.
const crmIdp = await startDemoIdp({
  port: Number(process.env.CRM_IDP_PORT ?? 4000),
  host: 'localhost',
  clients: [{ clientId: 'mcp-crm', clientSecret: 'crm-demo-secret-change-me', redirectUris: [CALLBACK] }],
});
const erpIdp = await startDemoIdp({
  port: Number(process.env.ERP_IDP_PORT ?? 4001),
  host: '127.0.0.1',
  clients: [{ clientId: 'mcp-erp', clientSecret: 'erp-demo-secret-change-me', redirectUris: [CALLBACK] }],
  users: {
    'a.liddell': { name: 'A. Liddell', email: 'a.liddell@erp.example', department: 'finance', roles: ['approver'] },
    'b.builder': { name: 'B. Builder', email: 'b.builder@erp.example', department: 'warehouse', roles: ['clerk'] },
  },
});

// 2. The proxy in local mode: one app per IdP; CRM signs people in, ERP is linked when needed.
const oauth = createOAuthProxy({
  issuer: `${BASE}/oauth`,
  mode: 'local',
  apps: [
    {
      id: 'crm',
      name: 'CRM',
      description: 'Customers and deals',
      provider: crmIdp.issuer,
      clientId: 'mcp-crm',
      clientSecret: 'crm-demo-secret-change-me',
      scopes: ['openid', 'profile', 'email', 'offline_access'],
      required: true,
    },
    {
      id: 'erp',
      name: 'ERP',
      description: 'Orders and invoices',
      provider: erpIdp.issuer,
      clientId: 'mcp-erp',
      clientSecret: 'erp-demo-secret-change-me',
      scopes: ['openid', 'profile', 'offline_access'],
    },
  ],
  incrementalAuth: { enabled: true },
  secret: process.env.OAUTH_PROXY_SECRET,
  encryptionKey: process.env.OAUTH_PROXY_VAULT_KEY,
});

// 3. The MCP server: each tool calls its app's IdP with that app's upstream token.
function whoami(app: 'crm' | 'erp', userinfo: string) {
  return async (ctx: SessionSource) => {
    const { upstreamTokens, apps } = getSession(ctx);
    try {
      const token = await upstreamTokens.getToken(app);
      const res = await fetch(userinfo, { headers: { authorization: `Bearer ${token}` } });
      return { content: [{ type: 'text' as const, text: JSON.stringify({ app, apps, userinfo: await res.json() }, null, 2) }] };
    } catch (err) {
      // Not linked yet: show the person the link (or let the client step up on the app's route).
      if (err instanceof AuthorizationRequiredError)
        return { isError: true, content: [{ type: 'text' as const, text: `Connect ${err.app} first: open ${err.authorizeUrl}` }] };
      throw err;
    }
  };
}
function mcpServer(): McpServer {
  const server = new McpServer({ name: 'mcp-oauth-proxy-multi-demo', version: '1.0.0' });
  server.registerTool('crm_whoami', { description: 'Who am I at the CRM?' }, whoami('crm', crmIdp.endpoints.userinfo));
  server.registerTool('erp_whoami', { description: 'Who am I at the ERP? (needs ERP linked)' }, whoami('erp', erpIdp.endpoints.userinfo));
  return server;
}

const app = createMcpExpressApp({ host: 'localhost' });
const cors: RequestHandler = (req, res, next) => {
  res.set({
    'Access-Control-Allow-Origin': '*',
    'Access-Control-Allow-Headers':
      'Authorization, Content-Type, Mcp-Session-Id, MCP-Protocol-Version, Mcp-Method, Mcp-Name, Last-Event-ID',
    'Access-Control-Allow-Methods': 'GET, POST, DELETE, OPTIONS',
    'Access-Control-Expose-Headers': 'WWW-Authenticate, Mcp-Session-Id, MCP-Protocol-Version',
  });
  if (req.method === 'OPTIONS') return void res.status(204).end();
  next();
};
app.use('/mcp', cors);
app.use(oauth.wellKnown);
app.use('/oauth', oauth);
app.get('/ready', async (_req, res) => {
  const state = await oauth.ready();
  res.status(state.ready ? 200 : 503).json(state);
});
const mcp = toNodeHandler(createMcpHandler(() => mcpServer()));
const hosts = { allowedHosts: ['localhost', '127.0.0.1', '[::1]'] };
// App routes live at or below the resource (/mcp), so MCP clients accept its metadata for them.
app.all('/mcp/erp', oauth.requireSession({ app: 'erp', ...hosts }), (req, res) => mcp(req, res, req.body));
app.all('/mcp', oauth.requireSession(hosts), (req, res) => mcp(req, res, req.body));

app.listen(PORT, () => {
  console.log(`
  MCP server:  ${BASE}/mcp       (CRM signs you in; crm_whoami, erp_whoami)
  ERP route:   ${BASE}/mcp/erp   (needs ERP: a client steps up, visiting only the ERP IdP)
  OAuth:       ${BASE}/oauth
  CRM IdP:     ${crmIdp.issuer}   sign in as alice or bob (any password)
  ERP IdP:     ${erpIdp.issuer}   sign in as a.liddell or b.builder (any password)

  MCP Inspector 2.x:  npx @modelcontextprotocol/inspector
    Add Servers → Add manually → "streamable-http" → ${BASE}/mcp → Add, turn it on, approve, sign in at CRM.
    Call erp_whoami: it answers with a link that connects ERP. Or add ${BASE}/mcp/erp as a second
    server: its 403 makes the client step up to ERP.
`);
});
