import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import http from 'node:http';
import { startExampleServer, type ExampleServer } from '../helpers/example-server.js';
import { TestBrowser } from '../helpers/browser.js';
import { callTool, connectMcpClient } from '../helpers/mcp.js';
import { callToolV2, connectV2Client } from '../helpers/mcp-v2.js';

/**
 * Keeps the README honest: `npm start` (examples/server.ts) runs a protected
 * MCP server on the SDK v2 packages that both official SDK clients can sign in
 * to, through the consent page (on by default with open registration) and the
 * bundled demo IdP: the v2 client on protocol 2026-07-28, the v1 client on 2025-11-25.
 */
describe('npm start example', () => {
  let example: ExampleServer;
  let base: string;
  const output = () => example.output();

  beforeAll(async () => {
    example = await startExampleServer();
    base = example.base;
  });

  afterAll(() => {
    example?.stop();
  });

  it('serves a protected MCP endpoint and warns that its secrets are ephemeral', async () => {
    const res = await fetch(`${base}/mcp`, { method: 'POST' });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain(`resource_metadata="${base}/.well-known/oauth-protected-resource/mcp"`);
    expect(output()).toContain('no "secret" option was given');
  });

  it('lets the v1 client sign in (consent approved) and call the whoami tool over a 2025 protocol', async () => {
    const { client } = await connectMcpClient({ serverUrl: `${base}/mcp`, browser: new TestBrowser(), login: 'alice', consent: 'approve' });
    const result = await callTool(client, 'whoami');
    expect(result.userinfo.sub).toBe('alice');
    expect((client.transport as { protocolVersion?: string } | undefined)?.protocolVersion).toBe('2025-11-25');
    await client.close();
  });

  it('lets the v2 client sign in and call whoami over protocol 2026-07-28', async () => {
    const { client } = await connectV2Client({ serverUrl: `${base}/mcp`, browser: new TestBrowser(), login: 'bob' });
    expect(client.getNegotiatedProtocolVersion()).toBe('2026-07-28');
    expect((await callToolV2(client, 'whoami')).userinfo.sub).toBe('bob');
    await client.close();
  });

  it('validates Host (DNS rebinding) and allows the 2026-07-28 headers in /mcp CORS', async () => {
    const port = new URL(base).port;
    const evil = await new Promise<number>((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port,
          path: '/mcp',
          method: 'POST',
          headers: { host: 'evil.example.com', 'content-type': 'application/json' },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end('{}');
    });
    expect(evil).toBe(403);
    const pre = await fetch(`${base}/mcp`, {
      method: 'OPTIONS',
      headers: {
        origin: 'http://localhost:6274',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'mcp-method, mcp-name',
      },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-headers')).toMatch(/Mcp-Method/);
    expect(pre.headers.get('access-control-allow-headers')).toMatch(/Mcp-Name/);
  });

  it('prints the MCP Inspector 2.x steps', () => {
    expect(output()).toContain('Add Servers → Add manually');
    expect(output()).not.toContain('Quick OAuth Flow');
  });
});
