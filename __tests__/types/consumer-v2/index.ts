// A consumer on the MCP SDK v2 packages, as the README shows it. Type-checked by consumer.test.ts
// with skipLibCheck: false and only the packages a user would have installed.
import { randomUUID } from 'node:crypto';
import express from 'express';
import { createMcpExpressApp } from '@modelcontextprotocol/express';
import { McpServer } from '@modelcontextprotocol/server';
import { NodeStreamableHTTPServerTransport } from '@modelcontextprotocol/node';
import { createOAuthProxy, getSession, requireSession, ReauthenticationRequiredError, type ToolSession } from 'mcp-oauth-proxy';

const app = createMcpExpressApp({ host: 'localhost' });
const oauth = createOAuthProxy({ issuer: 'http://localhost:3000/oauth', provider: 'https://login.example.com', clientId: 'mcp-proxy' });
app.use(oauth.wellKnown);
app.use('/oauth', oauth);

function mcpServer(): McpServer {
  const server = new McpServer({ name: 'consumer', version: '1.0.0' });
  server.registerTool('whoami', { description: 'Who am I?' }, async (ctx) => {
    const session: ToolSession = getSession(ctx);
    try {
      const token: string = await session.upstreamTokens.getToken();
      return { content: [{ type: 'text', text: `${session.sub} ${session.clientId} ${token.length}` }] };
    } catch (err) {
      if (err instanceof ReauthenticationRequiredError) return { isError: true, content: [{ type: 'text', text: err.authorizeUrl }] };
      throw err;
    }
  });
  return server;
}

app.all('/mcp', requireSession({ scopes: ['openid'], allowedHosts: ['localhost'] }), async (req, res) => {
  // The SDK's own Request augmentation types req.auth; ours adds req.upstreamTokens.
  const clientId: string | undefined = req.auth?.clientId;
  const sub: string = getSession(req).sub;
  void clientId;
  void sub;
  void req.upstreamTokens?.tryGetToken();
  const transport = new NodeStreamableHTTPServerTransport({ sessionIdGenerator: randomUUID });
  await mcpServer().connect(transport);
  await transport.handleRequest(req, res, req.body);
});

// A plain express() app works the same.
const plain = express();
plain.all('/mcp', oauth.requireSession(), (_req, res) => {
  res.end();
});
