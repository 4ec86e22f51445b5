import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { IncomingMessage } from 'node:http';
import { createClient, type RedisClientType } from 'redis';
import { RedisStore } from '../../lib/index.js';
import { storeNamespace } from '../../lib/stores/namespaced.js';
import { sha256 } from '../../lib/crypto.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { TestBrowser } from '../helpers/browser.js';
import { callTool, connectMcpClient, TestOAuthClientProvider } from '../helpers/mcp.js';
import { TEST_SECRET, TEST_VAULT_KEY } from '../helpers/proxy.js';
import { redisUrl, uniquePrefix } from '../helpers/redis.js';

/**
 * After a full flow on RedisStore — sign-in, tool calls, an upstream refresh,
 * a refresh of the proxy's own tokens — every key and value under the run's
 * prefix (browser sessions included) is read back, and none of the secrets
 * that passed through the proxy appears in it. The upstream tokens are taken
 * from what the IdP really answered: the proxy's injectable `fetch` is wrapped
 * to record every token response.
 */
describe('a Redis dump holds no usable secret', () => {
  const prefix = uniquePrefix();
  const upstream: string[] = [];
  const upstreamCodes: string[] = [];
  let client: RedisClientType;
  let stack: Stack;

  const recordingFetch: typeof fetch = async (input, init) => {
    const res = await fetch(input, init);
    if (res.ok && res.headers.get('content-type')?.includes('json')) {
      const body = (await res.clone().json()) as Record<string, unknown>;
      for (const field of ['access_token', 'refresh_token', 'id_token'])
        if (typeof body[field] === 'string') upstream.push(body[field] as string);
    }
    return res;
  };

  beforeAll(async () => {
    client = createClient({ url: redisUrl() });
    client.on('error', () => {});
    await client.connect();
    stack = await startStack({
      stores: () => new RedisStore({ client, prefix }),
      proxy: { fetch: recordingFetch },
      // Upstream access tokens live 30 s, less than the 60 s refresh skew: every getToken() refreshes upstream.
      idp: { accessTokenTtl: 30 },
    });
    stack.instances[0]!.server.prependListener('request', (req: IncomingMessage) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname === '/oauth/callback' && url.searchParams.get('code')) upstreamCodes.push(url.searchParams.get('code')!);
    });
  });

  afterAll(async () => {
    await stack?.close();
    await stack?.instances[0]?.store.close?.();
    if (client)
      for await (const batch of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) if (batch.length) await client.del(batch);
    client?.destroy();
  });

  it('no upstream token, code, refresh token or secret appears in any key or value, and every key has a TTL', async () => {
    const provider = new TestOAuthClientProvider({ tokenEndpointAuthMethod: 'client_secret_post' });
    const { client: mcp, callback } = await connectMcpClient({
      serverUrl: stack.mcpUrl,
      browser: new TestBrowser(),
      login: 'alice',
      provider,
    });
    const refreshesBefore = stack.idp.counters.refresh;
    expect((await callTool(mcp, 'whoami')).sub).toBe('alice');
    expect((await callTool(mcp, 'whoami')).sub).toBe('alice');
    expect(stack.idp.counters.refresh).toBeGreaterThan(refreshesBefore); // the upstream tokens were refreshed (and rotated)

    const info = provider.clientInformation() as { client_id: string; client_secret: string };
    const res = await fetch(`${stack.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: provider.tokens()!.refresh_token!,
        client_id: info.client_id,
        client_secret: info.client_secret,
      }),
    });
    expect(res.status).toBe(200);
    const refreshed = (await res.json()) as { access_token: string; refresh_token: string };
    await mcp.close();

    const proxyTokens = [
      ...provider.savedTokens.flatMap((t) => [t.access_token, t.refresh_token!]),
      refreshed.access_token,
      refreshed.refresh_token,
    ];
    const secrets: Record<string, string[]> = {
      'upstream token': upstream,
      'upstream authorization code': upstreamCodes,
      'proxy authorization code': [callback!.code!],
      'proxy token': proxyTokens,
      'client secret': [info.client_secret],
      'upstream client secret': [stack.idp.clientSecret],
      'proxy secret or vault key': [TEST_SECRET, TEST_VAULT_KEY],
    };
    // The lists are real: both upstream token sets (sign-in and refresh), both proxy refresh tokens.
    expect(new Set(upstream).size).toBeGreaterThanOrEqual(4);
    expect(upstreamCodes).toHaveLength(1);
    expect(new Set(proxyTokens.filter((t) => t.startsWith('mop_rt_'))).size).toBe(2);

    const dump: Array<{ key: string; values: string[] }> = [];
    for await (const batch of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) {
      for (const key of batch) dump.push({ key, values: await read(client, key) });
    }
    // Every key of the proxy is under its namespace (derived from its issuer), browser sessions included.
    const namespace = storeNamespace(stack.issuer);
    expect(dump.filter((d) => !d.key.startsWith(prefix + namespace)).map((d) => d.key)).toEqual([]);
    const names = dump.map((d) => d.key.slice(prefix.length + namespace.length));
    for (const kind of ['client:', 'sess:{', 'vault:{', 'rt:', 'rt-next:', 'code-used:', 'bsess:']) {
      expect([kind, names.some((n) => n.startsWith(kind))]).toEqual([kind, true]);
    }
    // Codes and refresh tokens are referenced by their hash only.
    expect(names).toContain(`rt:${sha256(refreshed.refresh_token)}`);
    expect(names).toContain(`code-used:${sha256(callback!.code!)}`);

    const leaks: string[] = [];
    for (const { key, values } of dump) {
      for (const [what, list] of Object.entries(secrets)) {
        for (const secret of new Set(list))
          if ([key, ...values].some((v) => v.includes(secret))) leaks.push(`${what} in ${key.slice(prefix.length)}`);
      }
    }
    expect(leaks).toEqual([]);

    const ttls = await Promise.all(dump.map(async ({ key }) => [key.slice(prefix.length), await client.pTTL(key)] as const));
    expect(ttls.filter(([, ttl]) => !(ttl > 0))).toEqual([]);
  });
});

/** Every string a key holds, whatever its type. */
async function read(client: RedisClientType, key: string): Promise<string[]> {
  const type = await client.type(key);
  if (type === 'string') return [(await client.get(key)) ?? ''];
  if (type === 'hash') return Object.entries(await client.hGetAll(key)).flat();
  if (type === 'list') return client.lRange(key, 0, -1);
  if (type === 'set') return client.sMembers(key);
  if (type === 'zset') return client.zRange(key, 0, -1);
  throw new Error(`unexpected Redis type ${type} at ${key}`);
}
