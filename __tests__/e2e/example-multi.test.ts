import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import {
  Client as ClientV2,
  StreamableHTTPClientTransport as TransportV2,
  UnauthorizedError as UnauthorizedV2,
  type OAuthClientProvider as ProviderV2,
} from '@modelcontextprotocol/client';
import { startExampleServer, type ExampleServer } from '../helpers/example-server.js';
import { TestBrowser } from '../helpers/browser.js';
import { completeAuthorization, connectV2Client } from '../helpers/mcp-v2.js';

/**
 * Keeps the README honest: `npm run start:multi` (examples/multi.ts) runs two demo IdPs and a
 * local-mode proxy, and the v2 SDK client can sign in at CRM, get the link for ERP from a tool,
 * and step up on the ERP route, visiting only the ERP IdP.
 */
describe('npm run start:multi example', () => {
  let example: ExampleServer;
  beforeAll(async () => {
    example = await startExampleServer({}, 'examples/multi.ts');
  });
  afterAll(() => {
    example?.stop();
  });

  const text = async (client: ClientV2, name: string) => {
    const r = (await client.callTool({ name, arguments: {} })) as { isError?: boolean; content: Array<{ text: string }> };
    return { isError: !!r.isError, text: r.content[0]!.text };
  };

  it('signs in at CRM, erp_whoami answers with a link, and the ERP route steps up to ERP alone', async () => {
    const browser = new TestBrowser();
    const { client, provider } = await connectV2Client({ serverUrl: `${example.base}/mcp`, browser, login: 'alice' });
    expect(JSON.parse((await text(client, 'crm_whoami')).text)).toMatchObject({ app: 'crm', apps: ['crm'], userinfo: { sub: 'alice' } });
    const erp = await text(client, 'erp_whoami');
    expect(erp.isError).toBe(true);
    expect(erp.text).toMatch(/Connect erp first: open http:\/\/localhost:\d+\/oauth\/authorize\?app=erp&link=/);
    await client.close();

    const transport = new TransportV2(new URL(`${example.base}/mcp/erp`), { authProvider: provider as unknown as ProviderV2 });
    await expect(new ClientV2({ name: 'multi', version: '1' }).connect(transport)).rejects.toBeInstanceOf(UnauthorizedV2);
    expect(provider.lastAuthorizationUrl!.searchParams.get('scope')).toBe('crm erp');
    const callback = await completeAuthorization(provider, browser, 'a.liddell');
    await transport.finishAuth(callback.code!, callback.iss ?? undefined);
    const wide = new ClientV2({ name: 'multi', version: '1' });
    await wide.connect(new TransportV2(new URL(`${example.base}/mcp/erp`), { authProvider: provider as unknown as ProviderV2 }));
    expect(JSON.parse((await text(wide, 'erp_whoami')).text)).toMatchObject({ apps: ['crm', 'erp'], userinfo: { sub: 'a.liddell' } });
    await wide.close();
  });
});
