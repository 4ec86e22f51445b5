import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { providers } from '../../lib/index.js';
import { TestBrowser } from '../helpers/browser.js';
import { callTool, connectMcpClient, type ConnectedMcpClient } from '../helpers/mcp.js';
import { eventually, vaultOf } from '../helpers/refresh.js';
import { startGitHubIdp, type GitHubIdp } from '../helpers/github-idp.js';
import { reserveProxy, startUpstreamStack, type UpstreamStack } from '../helpers/upstream-stack.js';

/**
 * A GitHub-style OAuth 2.0 upstream (issue 11), against a local server shaped like github.com and
 * api.github.com (see helpers/github-idp.ts): no discovery, no id_token, a numeric `id`, HTTP 200
 * errors, form bodies. Upstream access tokens live 3 s, so they really expire before a refresh.
 */
const CLIENT_ID = 'Iv1.0123456789abcdef';
const CLIENT_SECRET = 'github-client-secret-0123456789abcdef';
const TTL = 3;

async function signIn(stack: UpstreamStack, login: string): Promise<ConnectedMcpClient & { sid: string }> {
  const connected = await connectMcpClient({ serverUrl: stack.mcpUrl, browser: new TestBrowser(), login });
  const { sid } = await callTool<{ sid: string }>(connected.client, 'claims');
  return { ...connected, sid };
}

describe('providers.github() against a GitHub-shaped server', () => {
  let gh: GitHubIdp;
  let stack: UpstreamStack;
  const mapped: Array<Record<string, unknown>> = [];

  beforeAll(async () => {
    const at = await reserveProxy();
    gh = await startGitHubIdp({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, callbackUrl: at.callback, accessTokenTtl: TTL });
    stack = await startUpstreamStack(
      at,
      {
        ...providers.github({
          clientId: CLIENT_ID,
          clientSecret: CLIENT_SECRET,
          baseUrl: gh.url,
          apiUrl: gh.url,
          providerConfig: {
            tokenClaims: (c) => {
              mapped.push({ ...c });
              return { login: c.login, email: c.email, team: 'platform' };
            },
          },
        }),
        refresh: { enabled: true, skewSeconds: 1 },
      },
      { userinfoUrl: `${gh.url}/user`, providerId: 'github' },
    );
  });
  afterAll(async () => {
    await stack?.close();
    await gh?.close();
  });

  it('the SDK client signs in end to end; a tool gets the GitHub token and the mapped claims', async () => {
    const s = await signIn(stack, 'octocat');
    const me = await callTool<{ login: string; id: number }>(s.client, 'whoami');
    expect(me).toMatchObject({ login: 'octocat', id: 583231 });
    const { sub, claims } = await callTool<{ sub: string; claims: Record<string, unknown> }>(s.client, 'claims');
    // sub is the numeric id as a string; claims are exactly what tokenClaims returned (plus sub).
    expect(sub).toBe('583231');
    expect(claims).toEqual({ sub: '583231', login: 'octocat', email: 'octocat@github.com', team: 'platform' });
    // tokenClaims saw the preset's identity: the hidden e-mail came from /user/emails.
    expect(mapped.at(-1)).toEqual({
      sub: '583231',
      login: 'octocat',
      name: 'The Octocat',
      email: 'octocat@github.com',
      email_verified: true,
    });
    expect(gh.counters.emails).toBeGreaterThanOrEqual(1);
    // openid-client asks for JSON, and GitHub's answer was JSON.
    expect(gh.counters.jsonAnswers).toBeGreaterThanOrEqual(1);
    await s.client.close();
  });

  it('refreshes an expired GitHub token (refresh_token_expires_in kept) and revokes by deleting the grant', async () => {
    const s = await signIn(stack, 'hubot');
    const vault = vaultOf(stack.view);
    const first = (await vault.get(s.sid, 'github'))!;
    // refresh_token_expires_in (~6 months) reached the vault.
    expect(first.refresh_expires_at! - first.expires_at!).toBeGreaterThan(15_000_000);
    await eventually(() => !gh.isActive(first.access_token), 'GitHub refuses the first access token', 30_000);
    const refreshes = gh.counters.refresh;
    expect(await callTool(s.client, 'whoami')).toMatchObject({ login: 'hubot', id: 1000042 });
    expect(gh.counters.refresh).toBe(refreshes + 1);
    const second = (await vault.get(s.sid, 'github'))!;
    expect(second.access_token).not.toBe(first.access_token);
    expect(second.refresh_token).not.toBe(first.refresh_token);
    expect(gh.isActive(second.access_token)).toBe(true);

    const deleted = gh.counters.grantDeleted;
    await stack.oauth.logout(s.sid);
    expect(gh.counters.grantDeleted).toBe(deleted + 1);
    expect(gh.isActive(second.access_token)).toBe(false);
    await s.client.close();
  });

  it('a logout after the GitHub token expired still deletes the grant: the refresh token buys a valid access token first', async () => {
    const s = await signIn(stack, 'hubot');
    const set = (await vaultOf(stack.view).get(s.sid, 'github'))!;
    await eventually(() => !gh.isActive(set.access_token), 'the access token expired', 30_000);
    expect(gh.liveTokens('hubot')).toBeGreaterThanOrEqual(1); // the refresh token still lives
    const [deleted, refreshes] = [gh.counters.grantDeleted, gh.counters.refresh];
    await stack.oauth.logout(s.sid);
    expect(gh.counters.refresh).toBe(refreshes + 1);
    expect(gh.counters.grantDeleted).toBe(deleted + 1);
    expect(gh.liveTokens('hubot')).toBe(0);
    await s.client.close();
  });

  it('a refresh refused with HTTP 200 "bad_refresh_token" ends the upstream grant (invalid_grant), not the process', async () => {
    const s = await signIn(stack, 'octocat');
    const set = (await vaultOf(stack.view).get(s.sid, 'github'))!;
    gh.revokeUser('octocat'); // the user revoked the app in their GitHub settings
    await eventually(() => !gh.isActive(set.access_token), 'the token is dead', 30_000);
    await eventually(
      async () => (await vaultOf(stack.view).get(s.sid, 'github'))!.expires_at! * 1000 - Date.now() < 1000,
      'the token is within the skew',
      30_000,
    );
    await expect(callTool(s.client, 'whoami')).rejects.toThrow(
      'No usable upstream token for provider "github" (the upstream refused the refresh token (invalid_grant))',
    );
    expect(gh.counters.tokenErrors).toContain('bad_refresh_token');
    expect(await vaultOf(stack.view).get(s.sid, 'github')).toBeUndefined();
    await s.client.close();
  });
});
