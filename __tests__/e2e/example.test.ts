import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from '../helpers/idp.js';
import { TestBrowser } from '../helpers/browser.js';
import { callTool, connectMcpClient } from '../helpers/mcp.js';

/**
 * Keeps the README honest: `npm start` (examples/server.ts) runs a protected
 * MCP server that the official SDK client can sign in to, through the consent
 * page (on by default with open registration) and the bundled demo IdP.
 */
describe('npm start example', () => {
  let child: ChildProcess;
  let base: string;
  let output = '';

  beforeAll(async () => {
    const [port, idpPort] = [await freePort(), await freePort()];
    base = `http://localhost:${port}`;
    child = spawn(process.execPath, ['--import', 'tsx', 'examples/server.ts'], {
      env: { ...process.env, PORT: String(port), IDP_PORT: String(idpPort), NODE_OPTIONS: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d: Buffer) => { output += d.toString(); });
    child.stderr!.on('data', (d: Buffer) => { output += d.toString(); });
    for (let i = 0; i < 200; i++) {
      const ok = await fetch(`${base}/ready`).then((r) => r.ok, () => false);
      if (ok) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`example did not become ready:\n${output}`);
  });

  afterAll(() => { child?.kill(); });

  it('serves a protected MCP endpoint and warns that its secrets are ephemeral', async () => {
    const res = await fetch(`${base}/mcp`, { method: 'POST' });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain(`resource_metadata="${base}/.well-known/oauth-protected-resource/mcp"`);
    expect(output).toContain('no "secret" option was given');
  });

  it('lets the official MCP client sign in (consent approved) and call the whoami tool', async () => {
    const { client } = await connectMcpClient({ serverUrl: `${base}/mcp`, browser: new TestBrowser(), login: 'alice', consent: 'approve' });
    const result = await callTool(client, 'whoami');
    expect(result.userinfo.sub).toBe('alice');
    await client.close();
  });
});
