import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { TestBrowser } from '../helpers/browser.js';
import { AuthorizationCallbackError, callTool, connectMcpClient } from '../helpers/mcp.js';
import { eventually, vaultOf } from '../helpers/refresh.js';
import { startGitHubIdp, type GitHubIdp } from '../helpers/github-idp.js';
import { reserveProxy, startUpstreamStack, type UpstreamStack } from '../helpers/upstream-stack.js';
import type { OAuthProxyOptions } from '../../lib/index.js';

/**
 * A plain OAuth 2.0 upstream configured by hand (no preset): the GitHub-shaped server in
 * `formOnly` mode, which answers every token request form-encoded whatever `Accept` says, as
 * many internal OAuth 2.0 servers do. openid-client alone accepts only JSON with numeric
 * `expires_in`; the proxy's normalisation makes these answers usable.
 */
const CLIENT_ID = 'internal-oauth2-client';
const CLIENT_SECRET = 'internal-oauth2-secret-0123456789abcdef';

function upstream(
  gh: GitHubIdp,
  o: { secret?: string; profile?: boolean } = {},
): Pick<OAuthProxyOptions, 'provider' | 'clientId' | 'scopes' | 'providerConfig'> & Partial<OAuthProxyOptions> {
  return {
    provider: gh.url,
    clientId: CLIENT_ID,
    clientSecret: o.secret ?? CLIENT_SECRET,
    scopes: ['read:user'],
    refresh: { enabled: true, skewSeconds: 1 },
    providerConfig: {
      id: 'internal',
      skipDiscovery: true,
      authEndpoint: `${gh.url}/login/oauth/authorize`,
      tokenEndpoint: `${gh.url}/login/oauth/access_token`,
      userInfoEndpoint: `${gh.url}/user`,
      tokenEndpointAuthMethod: 'client_secret_post',
      ...(o.profile === false
        ? {}
        : { profile: ({ userinfo }) => ({ sub: `user-${String(userinfo!.id)}`, login: userinfo!.login, iss: 'dropped' }) }),
    },
  };
}

describe('a hand-configured OAuth 2.0 upstream answering form-encoded', () => {
  let gh: GitHubIdp;
  let stack: UpstreamStack;
  beforeAll(async () => {
    const at = await reserveProxy();
    gh = await startGitHubIdp({
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      callbackUrl: at.callback,
      accessTokenTtl: 3,
      formOnly: true,
    });
    stack = await startUpstreamStack(at, upstream(gh), { userinfoUrl: `${gh.url}/user`, providerId: 'internal' });
  });
  afterAll(async () => {
    await stack?.close();
    await gh?.close();
  });

  it('signs in with form-encoded token answers; identity from providerConfig.profile; refresh works', async () => {
    const s = await connectMcpClient({ serverUrl: stack.mcpUrl, browser: new TestBrowser(), login: 'octocat' });
    expect(gh.counters.formAnswers).toBeGreaterThanOrEqual(1);
    expect(gh.counters.jsonAnswers).toBe(0);
    const { sub, sid, claims } = await callTool<{ sub: string; sid: string; claims: Record<string, unknown> }>(s.client, 'claims');
    expect(sub).toBe('user-583231');
    // No tokenClaims: the identity's claims minus protocol ones (iss).
    expect(claims).toEqual({ sub: 'user-583231', login: 'octocat' });
    const set = (await vaultOf(stack.view).get(sid, 'internal'))!;
    expect(typeof set.expires_at).toBe('number'); // "expires_in=3" arrived as a string and was read as a number
    await eventually(() => !gh.isActive(set.access_token), 'the first token expired', 30_000);
    expect(await callTool(s.client, 'whoami')).toMatchObject({ login: 'octocat' });
    expect(gh.counters.refresh).toBe(1);
    await s.client.close();
  });
});

describe('refusals of a plain OAuth 2.0 upstream, with HTTP 200 errors', () => {
  let gh: GitHubIdp;
  afterAll(async () => {
    await gh?.close();
  });

  async function attempt(o: { secret?: string; profile?: boolean }) {
    const at = await reserveProxy();
    gh ??= await startGitHubIdp({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, accessTokenTtl: 3600 });
    gh.setCallbackUrl(at.callback);
    const stack = await startUpstreamStack(at, upstream(gh, o), { userinfoUrl: `${gh.url}/user`, providerId: 'internal' });
    try {
      const err = await connectMcpClient({ serverUrl: stack.mcpUrl, browser: new TestBrowser(), login: 'octocat' }).then(
        () => undefined,
        (e: unknown) => e,
      );
      return { err, logs: stack.logs.text() };
    } finally {
      await stack.close();
    }
  }

  it('a wrong client secret ("incorrect_client_credentials" with HTTP 200) refuses the sign-in as invalid_client', async () => {
    const { err, logs } = await attempt({ secret: 'wrong-secret-0123456789abcdef' });
    expect(err).toBeInstanceOf(AuthorizationCallbackError);
    expect((err as AuthorizationCallbackError).error).toBe('access_denied');
    expect(gh.counters.tokenErrors).toContain('incorrect_client_credentials');
    expect(logs).toContain('The upstream returned error \\"invalid_client\\" at code exchange');
  });

  it('without providerConfig.profile, an identity with no "sub" is refused with a message naming the option', async () => {
    const { err, logs } = await attempt({ profile: false });
    expect((err as AuthorizationCallbackError).error).toBe('access_denied');
    // GitHub's /user has no sub: the log says which option fixes it.
    expect(logs).toContain(
      'The upstream identity has no subject (\\"sub\\"); for an OAuth 2.0 upstream without one, set providerConfig.profile',
    );
  });
});
