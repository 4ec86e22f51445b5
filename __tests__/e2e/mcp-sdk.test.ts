import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { startStack, type Stack } from '../helpers/stack.js';
import { TestBrowser } from '../helpers/browser.js';
import { callTool, connectMcpClient, TestOAuthClientProvider } from '../helpers/mcp.js';

/**
 * The whole path with real parts: the official MCP SDK client (discovery,
 * dynamic registration, PKCE, token exchange), a test browser signing in at a
 * real oidc-provider IdP, the proxy's Router, and an MCP SDK server whose tool
 * calls the IdP's userinfo endpoint with the upstream token from the vault.
 */
describe('official MCP SDK client, end to end', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack.close();
  });

  it('signs in through the proxy and a tool calls the upstream with the upstream token', async () => {
    const { client, callback, provider } = await connectMcpClient({ serverUrl: stack.mcpUrl, browser: new TestBrowser(), login: 'alice' });
    expect(callback?.iss).toBe(stack.issuer);
    expect(callback?.state).toBe(provider.lastState);
    const me = await callTool(client, 'whoami');
    expect(me.sub).toBe('alice');
    expect(stack.idp.counters.userinfo).toBeGreaterThan(0);
    // The client only ever holds the proxy's token, never the upstream's.
    const tokens = provider.tokens()!;
    expect(tokens.access_token.split('.')).toHaveLength(3);
    expect(JSON.parse(Buffer.from(tokens.access_token.split('.')[0]!, 'base64url').toString()).alg).toBe('HS256');
    expect(tokens.refresh_token).toMatch(/^mop_rt_/);
    await client.close();
  });

  it('forwards upstream identity claims, custom claims untouched, on req.auth', async () => {
    const { client } = await connectMcpClient({ serverUrl: stack.mcpUrl, browser: new TestBrowser(), login: 'alice' });
    const info = await callTool(client, 'claims');
    expect(info.sub).toBe('alice');
    expect(info.claims.sub).toBe('alice');
    expect(info.claims.department).toBeDefined();
    expect(info.claims.employee_id).toBeDefined();
    expect(info.claims.roles).toEqual(expect.any(Array));
    expect(info.claims.nonce).toBeUndefined();
    expect(info.sid).toMatch(/^sid_/);
    expect(info.scopes).toEqual(expect.arrayContaining(['openid']));
    await client.close();
  });

  it('keeps two users in two browsers apart', async () => {
    const a = await connectMcpClient({ serverUrl: stack.mcpUrl, browser: new TestBrowser(), login: 'alice' });
    const b = await connectMcpClient({ serverUrl: stack.mcpUrl, browser: new TestBrowser(), login: 'bob' });
    const [ma, mb] = await Promise.all([callTool(a.client, 'whoami'), callTool(b.client, 'whoami')]);
    expect(ma.sub).toBe('alice');
    expect(mb.sub).toBe('bob');
    const [ca, cb] = await Promise.all([callTool(a.client, 'claims'), callTool(b.client, 'claims')]);
    expect(ca.sid).not.toBe(cb.sid);
    await a.client.close();
    await b.client.close();
  });

  it('works for a confidential client using client_secret_post and client_secret_basic', async () => {
    for (const method of ['client_secret_post', 'client_secret_basic'] as const) {
      const provider = new TestOAuthClientProvider({ tokenEndpointAuthMethod: method });
      const { client } = await connectMcpClient({ serverUrl: stack.mcpUrl, browser: new TestBrowser(), login: 'bob', provider });
      expect((provider.clientInformation() as { client_secret?: string }).client_secret).toMatch(/^mop_secret_/);
      expect((await callTool(client, 'whoami')).sub).toBe('bob');
      await client.close();
    }
  });

  it('never logs codes, tokens or secrets', async () => {
    const provider = new TestOAuthClientProvider({ tokenEndpointAuthMethod: 'client_secret_post' });
    const { client } = await connectMcpClient({ serverUrl: stack.mcpUrl, browser: new TestBrowser(), login: 'alice', provider });
    await callTool(client, 'whoami');
    const logged = stack.logs.text();
    const tokens = provider.tokens()!;
    expect(logged).not.toContain(tokens.access_token);
    expect(logged).not.toContain(tokens.refresh_token!);
    expect(logged).not.toContain((provider.clientInformation() as { client_secret: string }).client_secret);
    expect(logged).not.toMatch(/mop_code_|mop_rt_|mop_secret_/);
    expect(logged).not.toContain(stack.idp.clientSecret);
    await client.close();
  });
});
