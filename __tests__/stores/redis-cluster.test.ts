import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { SessionData } from 'express-session';
import { createClient, createCluster, type RedisClientType, type RedisClusterType } from 'redis';
import { keys } from '../../lib/stores/keys.js';
import { storeNamespace } from '../../lib/stores/namespaced.js';
import { RedisStore } from '../../lib/stores/redis.js';
import { StoreUnavailableError } from '../../lib/stores/store.js';
import { runStoreContractTests } from '../../lib/testing/index.js';
import { startRedisCluster, uniquePrefix, waitFor, type RedisCluster } from '../helpers/redis.js';

let cluster: RedisCluster;
const clients: RedisClusterType[] = [];

async function connectCluster(): Promise<RedisClusterType> {
  const client: RedisClusterType = createCluster({ rootNodes: cluster.rootNodes });
  client.on('error', () => {});
  await client.connect();
  clients.push(client);
  return client;
}

beforeAll(async () => {
  cluster = await startRedisCluster();
}, 60_000);

afterAll(async () => {
  for (const client of clients) client.destroy();
  await cluster?.stop();
});

runStoreContractTests('RedisStore (cluster)', async () => {
  const store = new RedisStore({ client: await connectCluster(), prefix: uniquePrefix() });
  return { store, cleanup: () => store.close() };
});

describe('RedisStore on Redis Cluster', () => {
  let client: RedisClusterType;
  let node: RedisClientType;
  beforeAll(async () => {
    client = await connectCluster();
    node = createClient({ url: cluster.rootNodes[0]?.url });
    node.on('error', () => {});
    await node.connect();
  });
  afterAll(() => {
    node?.destroy();
  });

  it('is available while every master is ready', () => {
    const store = new RedisStore({ client });
    expect(store.available).toBe(true);
    expect(store.atomic).toBe(true);
  });

  it('keeps every key of one session on one slot (the prefix does not break hash tags)', async () => {
    const prefix = uniquePrefix();
    const store = new RedisStore({ client, prefix });
    const sid = 'session-1234';
    const namespace = storeNamespace('https://mcp.example.com/oauth'); // the proxy's own, before every key
    const sessionKeys = [keys.grant(sid), keys.vault(sid, 'upstream'), keys.vault(sid, 'github'), keys.refreshLock(sid, 'upstream')].map(
      (k) => namespace + k,
    );
    for (const key of sessionKeys) await store.set(key, 'v', 60_000);
    const slots = await Promise.all(sessionKeys.map((key) => node.clusterKeySlot(prefix + key)));
    expect(new Set(slots).size).toBe(1);
    for (const key of sessionKeys) await expect(store.take(key)).resolves.toBe('v');
  });

  it('delivers pub/sub messages between two cluster clients', async () => {
    const prefix = uniquePrefix();
    const a = new RedisStore({ client, prefix });
    const b = new RedisStore({ client: await connectCluster(), prefix });
    const received: string[] = [];
    await b.subscribe('ended', (m) => received.push(m));
    await waitFor(async () => {
      await a.publish('ended', 'sid-9');
      return received.includes('sid-9');
    }, 'the other client received the message');
    await b.close();
    await a.close();
  });

  it('keeps express-session sessions through connect-redis on the cluster', async () => {
    const prefix = uniquePrefix();
    const sessions = new RedisStore({ client, prefix }).sessionStore();
    const data = { cookie: { originalMaxAge: 60_000, expires: new Date(Date.now() + 60_000) }, n: 3 } as unknown as SessionData;
    await new Promise<void>((resolve, reject) => sessions.set('sid-1', data, (err) => (err ? reject(err) : resolve())));
    const loaded = await new Promise((resolve, reject) => sessions.get('sid-1', (err, value) => (err ? reject(err) : resolve(value))));
    expect(loaded).toMatchObject({ n: 3 });
    await expect(client.pTTL(`${prefix}bsess:sid-1`)).resolves.toBeGreaterThan(0);
  });

  it('rejects with StoreUnavailableError once the cluster client is closed', async () => {
    const own = await connectCluster();
    const store = new RedisStore({ client: own, prefix: uniquePrefix() });
    own.destroy();
    expect(store.available).toBe(false);
    await expect(store.set('k', 'v', 1_000)).rejects.toBeInstanceOf(StoreUnavailableError);
  });
});
