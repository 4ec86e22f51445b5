// A consumer on @modelcontextprotocol/sdk 1.x. Type-checked by consumer.test.ts
// with skipLibCheck: false and only the packages a user would have installed.
import express from 'express';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { requireBearerAuth } from '@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js';
import {
  createOAuthProxy,
  getSession,
  requireSession,
  MemoryStore,
  toSessionStore,
  fromExpressSessionStore,
  type SessionAuthExtra,
} from 'mcp-oauth-proxy';

const app = express();
const oauth = createOAuthProxy({
  issuer: 'http://localhost:3000/oauth',
  provider: 'https://login.example.com',
  clientId: 'mcp-proxy',
  store: new MemoryStore(),
});
app.use(oauth.wellKnown);
app.use('/oauth', oauth);
void requireBearerAuth; // loads the SDK's own `req.auth` augmentation next to ours
void fromExpressSessionStore(toSessionStore(new MemoryStore()));

function mcpServer(): McpServer {
  const server = new McpServer({ name: 'consumer', version: '1.0.0' });
  server.registerTool('whoami', { description: 'Who am I?' }, async (extra) => {
    const { sub, claims, upstreamTokens }: SessionAuthExtra = getSession(extra);
    const token = await upstreamTokens.tryGetToken('upstream');
    return { content: [{ type: 'text', text: `${sub} ${String(claims.email)} ${token ?? ''}` }] };
  });
  return server;
}

app.all('/mcp', requireSession(), express.json(), async (req, res) => {
  const scopes: string[] | undefined = req.auth?.scopes;
  void scopes;
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
  await mcpServer().connect(transport);
  await transport.handleRequest(req, res, req.body);
});
