import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { createClient, type RedisClientType } from 'redis';
import {
  Client as ClientV2,
  StreamableHTTPClientTransport as TransportV2,
  UnauthorizedError as UnauthorizedV2,
  type OAuthClientProvider as ProviderV2,
} from '@modelcontextprotocol/client';
import { RedisStore } from '../../lib/index.js';
import { TestBrowser } from '../helpers/browser.js';
import { connectV2Client } from '../helpers/mcp-v2.js';
import type { TestOAuthClientProvider } from '../helpers/mcp.js';
import { redisUrl, uniquePrefix } from '../helpers/redis.js';
import { startMultiAppStack, type MultiAppStack } from '../helpers/multi-app.js';

/**
 * Local mode on two proxy instances sharing one real Redis, each with its own node-redis client
 * (issue 10): a step-up started on one instance (the 403, /authorize and the consent page) is
 * finished on the other (the consent POST, the IdP callback, the code redemption and the tool
 * calls). The front port forwards every request to `stack.target.index`, so each hop is steered.
 */
let s: MultiAppStack;
const clients: RedisClientType[] = [];
beforeAll(async () => {
  const prefix = uniquePrefix();
  for (let i = 0; i < 2; i++) {
    const c: RedisClientType = createClient({ url: redisUrl() });
    await c.connect();
    clients.push(c);
  }
  let next = 0;
  s = await startMultiAppStack({ instances: 2, store: () => new RedisStore({ client: clients[next++]!, prefix }) });
});
afterAll(async () => {
  await s?.close();
  for (const c of clients) await c.quit();
});

const asV2 = (p: TestOAuthClientProvider) => p as unknown as ProviderV2;

describe('two instances on one Redis', () => {
  it('a step-up started on instance 0 finishes on instance 1: same sid, only the ERP IdP visited', async () => {
    s.target.index = 0;
    const browser = new TestBrowser();
    const { client, provider } = await connectV2Client({ serverUrl: `${s.base}/mcp`, browser, login: 'alice' });
    const first = JSON.parse(((await client.callTool({ name: 'session', arguments: {} })) as any).content[0].text);
    await client.close();

    const transport = new TransportV2(new URL(`${s.base}/mcp/erp`), { authProvider: asV2(provider) });
    await expect(new ClientV2({ name: 'x', version: '1' }).connect(transport)).rejects.toBeInstanceOf(UnauthorizedV2);
    // Instance 0 shows the consent page for the wider app set.
    const consent = await browser.get(provider.lastAuthorizationUrl!);
    expect(consent.status).toBe(200);
    expect(consent.body).toContain('Apps to connect');
    // Everything after that runs on instance 1.
    s.target.index = 1;
    const crmCodes = s.crm.counters.code;
    const atErp = await browser.submitForm(
      consent.url,
      consent.body,
      {},
      {
        submitter: { name: 'decision', value: 'approve' },
        stopAt: (u) => u.origin === s.erp.issuer || u.origin === s.crm.issuer,
      },
    );
    expect(atErp.stoppedAt!.origin).toBe(s.erp.issuer);
    const { url } = await browser.authorize(atErp.stoppedAt!, {
      login: 'a.liddell',
      stopAt: (u) => u.href.startsWith(provider.redirectUrl),
    });
    await transport.finishAuth(url.searchParams.get('code')!, url.searchParams.get('iss') ?? undefined);
    expect(s.crm.counters.code).toBe(crmCodes);

    const wide = new ClientV2({ name: 'x', version: '1' });
    await wide.connect(new TransportV2(new URL(`${s.base}/mcp/erp`), { authProvider: asV2(provider) }));
    const after = JSON.parse(((await wide.callTool({ name: 'session', arguments: {} })) as any).content[0].text);
    expect(after).toMatchObject({ sid: first.sid, apps: ['crm', 'erp'] });
    const erp = JSON.parse(((await wide.callTool({ name: 'erp', arguments: {} })) as any).content[0].text);
    expect(erp.userinfo).toMatchObject({ sub: 'a.liddell' });
    await wide.close();
  });
});
