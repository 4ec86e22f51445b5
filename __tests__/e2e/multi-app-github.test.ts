import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { providers, type AppConfig } from '../../lib/index.js';
import { TestBrowser } from '../helpers/browser.js';
import { connectV2Client } from '../helpers/mcp-v2.js';
import { tokenRequest } from '../helpers/signin.js';
import { startGitHubIdp, type GitHubIdp } from '../helpers/github-idp.js';
import { multiAppOptions, startMultiAppStack, type MultiAppStack } from '../helpers/multi-app.js';

/**
 * A GitHub-style OAuth 2.0 IdP as a linked app in local mode (issue 11 with issue 10): the
 * company IdP (CRM, an oidc-provider) signs people in; GitHub, the local GitHub-shaped server
 * (no discovery, no id_token, numeric ids, HTTP 200 errors), is linked later through the link a
 * tool shows. Its identity comes from the preset's `profile`, its revocation from grant deletion.
 */
const CLIENT_ID = 'Iv1.0123456789abcdef';
const CLIENT_SECRET = 'github-client-secret-0123456789abcdef';
let gh: GitHubIdp;
let s: MultiAppStack;
beforeAll(async () => {
  gh = await startGitHubIdp({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
  s = await startMultiAppStack({
    userinfo: { github: `${gh.url}/user` },
    options: (base, crm, erp) => {
      gh.setCallbackUrl(`${base}/oauth/callback`);
      const github: AppConfig = {
        id: 'github',
        name: 'GitHub',
        ...providers.github({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, baseUrl: gh.url, apiUrl: gh.url }),
      };
      return { apps: [multiAppOptions(base, crm, erp).apps![0]!, github] };
    },
  });
});
afterAll(async () => {
  await s?.close();
  await gh?.close();
});

const body = (r: unknown) => JSON.parse((r as { content: Array<{ text: string }> }).content[0]!.text);

describe('GitHub as a linked app', () => {
  it('is linked through the tool’s link, a tool gets the GitHub token and claims, and logout deletes the GitHub grant', async () => {
    const browser = new TestBrowser();
    const { client, provider } = await connectV2Client({ serverUrl: `${s.base}/mcp`, browser, login: 'alice' });
    const denied = body(await client.callTool({ name: 'app', arguments: { app: 'github' } }));
    expect(denied).toMatchObject({ code: 'AUTHORIZATION_REQUIRED', app: 'github', scope: 'github' });
    await client.close();

    // The same browser follows the link: consent, then GitHub's own sign-in form, then the proxy's page.
    const consent = await browser.get(denied.authorizeUrl);
    const atGitHub = await browser.submitForm(
      consent.url,
      consent.body,
      {},
      {
        submitter: { name: 'decision', value: 'approve' },
        stopAt: (u) => u.origin === gh.url,
      },
    );
    const { url } = await browser.authorize(atGitHub.stoppedAt!, { login: 'octocat', stopAt: (u) => u.pathname === '/oauth/callback' });
    const done = await browser.get(url);
    expect(done.body).toContain('GitHub connected');

    const refreshed = await tokenRequest(s.issuer, {
      grant_type: 'refresh_token',
      refresh_token: provider.tokens()!.refresh_token!,
      client_id: provider.clientInformation()!.client_id,
    });
    expect(refreshed.body.scope).toBe('crm github');
    const wide = new Client({ name: 'gh', version: '1' });
    await wide.connect(
      new StreamableHTTPClientTransport(new URL(`${s.base}/mcp`), {
        requestInit: { headers: { authorization: `Bearer ${refreshed.body.access_token}` } },
      }),
    );
    const me = body(await wide.callTool({ name: 'app', arguments: { app: 'github' } }));
    expect(me.userinfo).toMatchObject({ login: 'octocat', id: 583231 });
    expect(body(await wide.callTool({ name: 'claims', arguments: { app: 'github' } }))).toMatchObject({ sub: '583231', login: 'octocat' });
    // The session's identity stays the company IdP's.
    expect(body(await wide.callTool({ name: 'session', arguments: {} }))).toMatchObject({ sub: 'alice', apps: ['crm', 'github'] });
    await wide.close();

    const deleted = gh.counters.grantDeleted;
    const sid = body(
      await (async () => {
        const c = new Client({ name: 'gh', version: '1' });
        await c.connect(
          new StreamableHTTPClientTransport(new URL(`${s.base}/mcp`), {
            requestInit: { headers: { authorization: `Bearer ${refreshed.body.access_token}` } },
          }),
        );
        const r = await c.callTool({ name: 'session', arguments: {} });
        await c.close();
        return r;
      })(),
    ).sid as string;
    await s.oauth.logout(sid);
    expect(gh.counters.grantDeleted).toBe(deleted + 1);
  });
});
