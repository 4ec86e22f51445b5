import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { createClient, createCluster, type RedisClientType, type RedisClusterType } from 'redis';
import { RedisStore } from '../../lib/index.js';
import { startStack, type Stack, type StackOptions } from '../helpers/stack.js';
import { TestBrowser } from '../helpers/browser.js';
import { callTool, TestOAuthClientProvider } from '../helpers/mcp.js';
import { redisUrl, startRedisCluster, uniquePrefix, type RedisCluster } from '../helpers/redis.js';

/**
 * Two proxy instances, each with its OWN node-redis client, share one Redis
 * behind the stack's strict round-robin balancer. Every request an instance
 * serves is logged from its http.Server, so the test knows where each step ran.
 * The balancer's next target is `sum(stack.hits) % 2`; where two steps are not
 * consecutive requests, the test sends one harmless GET first so that the next
 * step lands on the OTHER instance. Every cross-instance hop is therefore
 * deterministic: state written by one instance is read by the other.
 */

interface Hit {
  instance: number;
  method: string;
  path: string;
  status: number;
}

function logRequests(stack: Stack): Hit[] {
  const log: Hit[] = [];
  stack.instances.forEach((inst, instance) => {
    inst.server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => {
      const hit: Hit = { instance, method: req.method ?? '', path: (req.url ?? '').split('?')[0]!, status: 0 };
      log.push(hit);
      res.once('finish', () => {
        hit.status = res.statusCode;
      });
    });
  });
  return log;
}

/** Makes the balancer's next request go to an instance other than `avoid`. */
async function steerAwayFrom(stack: Stack, avoid: number): Promise<void> {
  if (stack.hits.reduce((a, b) => a + b, 0) % stack.instances.length !== avoid) return;
  await (await fetch(`${stack.base}/.well-known/oauth-protected-resource`)).arrayBuffer();
}

const last = (log: Hit[], method: string, path: string): Hit => {
  const hit = log.filter((h) => h.method === method && h.path === path).at(-1);
  if (!hit) throw new Error(`no ${method} ${path} was served`);
  return hit;
};

/** The MCP SDK's own flow (as connectMcpClient), with each state-carrying hop steered to the other instance. */
async function signIn(stack: Stack, log: Hit[], consent: boolean) {
  const provider = new TestOAuthClientProvider();
  const steered: typeof fetch = async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (url.pathname === '/oauth/token' && String(init?.body ?? '').includes('grant_type=authorization_code')) {
      await steerAwayFrom(stack, last(log, 'GET', '/oauth/callback').instance);
    }
    return fetch(input, init);
  };
  const transport = () => new StreamableHTTPClientTransport(new URL(stack.mcpUrl), { authProvider: provider, fetch: steered });
  const first = transport();
  await expect(new Client({ name: 'multi-instance-test', version: '1.0.0' }).connect(first)).rejects.toBeInstanceOf(UnauthorizedError);
  await steerAwayFrom(stack, last(log, 'POST', '/oauth/register').instance);
  const redirect = provider.redirectUrl;
  const { url } = await new TestBrowser().authorize(provider.lastAuthorizationUrl!, {
    login: 'alice',
    ...(consent ? { consent: 'approve' as const } : {}),
    stopAt: (u) => u.href.startsWith(redirect),
  });
  const code = url.searchParams.get('code');
  expect(code).toMatch(/^mop_code_/);
  await first.finishAuth(code!);
  await first.close();
  const client = new Client({ name: 'multi-instance-test', version: '1.0.0' });
  await client.connect(transport());
  return { client, provider };
}

async function runFlow(stack: Stack, log: Hit[], consent: boolean) {
  const { client, provider } = await signIn(stack, log, consent);
  const register = last(log, 'POST', '/oauth/register');
  const authorize = last(log, 'GET', '/oauth/authorize');
  const callback = last(log, 'GET', '/oauth/callback');
  const token = last(log, 'POST', '/oauth/token');
  // The client registered on one instance is found by the other; the pending
  // authorization and browser session written by one are consumed by the other;
  // the code issued by one is redeemed at the other.
  expect(authorize.instance).not.toBe(register.instance);
  expect(callback.instance).not.toBe(consent ? last(log, 'POST', '/oauth/consent').instance : authorize.instance);
  expect(token.instance).not.toBe(callback.instance);
  expect([register.status, callback.status, token.status]).toEqual([201, 302, 200]);

  // Tool calls: consecutive requests, so they alternate; each reads the sealed upstream token from the shared vault.
  const before = log.length;
  for (let i = 0; i < 4; i++) expect((await callTool(client, 'whoami')).sub).toBe('alice');
  const calls = log.slice(before).filter((h) => h.method === 'POST' && h.path === '/mcp');
  expect(calls.map((h) => h.status)).toEqual([200, 200, 200, 200]);
  expect(new Set(calls.map((h) => h.instance))).toEqual(new Set([0, 1]));

  // Refresh twice in a row: the token one instance rotated is rotated again on the other.
  const clientId = provider.clientInformation()!.client_id;
  let refreshToken = provider.tokens()!.refresh_token!;
  const refreshedOn: number[] = [];
  await steerAwayFrom(stack, token.instance);
  for (let i = 0; i < 2; i++) {
    const res = await fetch(`${stack.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: clientId }),
    });
    const body = (await res.json()) as { refresh_token: string };
    expect(res.status).toBe(200);
    expect(body.refresh_token).not.toBe(refreshToken);
    refreshToken = body.refresh_token;
    refreshedOn.push(last(log, 'POST', '/oauth/token').instance);
  }
  expect(refreshedOn[0]).not.toBe(token.instance);
  expect(refreshedOn[1]).not.toBe(refreshedOn[0]);

  // Nothing anywhere failed: no 5xx, and no 401 once the client held tokens.
  expect(log.filter((h) => h.status >= 500)).toEqual([]);
  expect(log.slice(log.indexOf(token)).filter((h) => h.status === 401)).toEqual([]);
  await client.close();
}

describe('two instances, separate Redis clients, one shared Redis', () => {
  const prefix = uniquePrefix();
  const clients: RedisClientType[] = [];
  const stacks: Stack[] = [];

  /** Two connected clients, one per instance (never shared), and a stack over them. */
  async function start(proxy: StackOptions['proxy'] = {}): Promise<{ stack: Stack; log: Hit[] }> {
    const own: RedisClientType[] = [];
    for (let i = 0; i < 2; i++) {
      const client: RedisClientType = createClient({ url: redisUrl() });
      client.on('error', () => {});
      await client.connect();
      own.push(client);
      clients.push(client);
    }
    const stack = await startStack({ instances: 2, stores: () => new RedisStore({ client: own.shift()!, prefix }), proxy });
    stacks.push(stack);
    return { stack, log: logRequests(stack) };
  }

  afterAll(async () => {
    for (const stack of stacks) {
      await stack.close();
      for (const inst of stack.instances) await inst.store.close?.();
    }
    const admin = clients[0];
    if (admin) for await (const batch of admin.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) if (batch.length) await admin.del(batch);
    for (const client of clients) client.destroy();
  });

  it('signs in with authorize and callback on different instances; token exchange, tool calls and refreshes alternate', async () => {
    const { stack, log } = await start();
    await runFlow(stack, log, false);
  });

  it('with consent: the consent page on one instance, the approval POST on the other', async () => {
    const { stack, log } = await start({ consent: { enabled: true } });
    await runFlow(stack, log, true);
    const page = last(log, 'GET', '/oauth/authorize');
    const post = last(log, 'POST', '/oauth/consent');
    expect(page.status).toBe(200);
    expect(post.status).toBe(303);
    expect(post.instance).not.toBe(page.instance);
  });
});

describe('two instances on a Redis Cluster (separate cluster clients)', () => {
  let cluster: RedisCluster;
  let stack: Stack;
  const clients: RedisClusterType[] = [];
  const prefix = uniquePrefix();

  beforeAll(async () => {
    cluster = await startRedisCluster();
    for (let i = 0; i < 2; i++) {
      const client: RedisClusterType = createCluster({ rootNodes: cluster.rootNodes });
      client.on('error', () => {});
      await client.connect();
      clients.push(client);
    }
    let next = 0;
    stack = await startStack({ instances: 2, stores: () => new RedisStore({ client: clients[next++]!, prefix }) });
  }, 60_000);

  afterAll(async () => {
    await stack?.close();
    for (const inst of stack?.instances ?? []) await inst.store.close?.();
    for (const client of clients) client.destroy();
    await cluster?.stop();
  });

  it('signs in across instances and a tool reads the upstream token from the cluster', async () => {
    const log = logRequests(stack);
    await runFlow(stack, log, false);
    let stored = 0;
    for (const { url } of cluster.rootNodes) {
      const node = createClient({ url });
      node.on('error', () => {});
      await node.connect();
      for await (const batch of node.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) stored += batch.length;
      node.destroy();
    }
    expect(stored).toBeGreaterThan(0);
  });
});
