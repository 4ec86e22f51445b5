import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { startStack, type Stack } from '../helpers/stack.js';
import { TestBrowser } from '../helpers/browser.js';
import { callTool, connectMcpClient } from '../helpers/mcp.js';

/** providerConfig.tokenClaims works for an OIDC upstream too (the demo oidc-provider, custom claims in the id_token). */
describe('providerConfig.tokenClaims with an OIDC upstream', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      proxy: {
        providerConfig: { id: 'upstream', tokenClaims: (c) => ({ department: c.department, roles: c.roles, sub: 'cannot-be-changed' }) },
      },
    });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('only the mapped claims reach req.auth.extra.claims, and sub stays the identity subject', async () => {
    const s = await connectMcpClient({ serverUrl: stack.mcpUrl, browser: new TestBrowser(), login: 'alice' });
    const { sub, claims } = await callTool<{ sub: string; claims: Record<string, unknown> }>(s.client, 'claims');
    expect(sub).toBe('alice');
    expect(claims).toEqual({ sub: 'alice', department: 'engineering', roles: ['admin', 'developer'] });
    await s.client.close();
  });
});
