import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { RedisStore as ConnectRedisStore } from 'connect-redis';
import session from 'express-session';
import { createClient, type RedisClientType } from 'redis';
import { DEFAULT_ADAPTER_PREFIX, fromExpressSessionStore } from '../../lib/stores/express-session-adapter.js';
import { StoreUnavailableError } from '../../lib/stores/store.js';
import { runStoreContractTests } from '../../lib/testing/index.js';
import { redisUrl, uniquePrefix } from '../helpers/redis.js';

async function connect(): Promise<RedisClientType> {
  const client: RedisClientType = createClient({ url: redisUrl(), disableOfflineQueue: true });
  client.on('error', () => {});
  await client.connect();
  return client;
}

async function dropPrefix(client: RedisClientType, prefix: string): Promise<void> {
  for await (const batch of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) if (batch.length) await client.del(batch);
}

runStoreContractTests(
  'fromExpressSessionStore(express-session MemoryStore)',
  async () => ({
    store: fromExpressSessionStore(new session.MemoryStore()),
  }),
  { atomic: false },
);

runStoreContractTests(
  'fromExpressSessionStore(connect-redis)',
  async () => {
    const client = await connect();
    const prefix = uniquePrefix();
    return {
      store: fromExpressSessionStore(new ConnectRedisStore({ client, prefix })),
      cleanup: async () => {
        await dropPrefix(client, prefix);
        client.destroy();
      },
    };
  },
  { atomic: false },
);

/** An express-session store whose next answers the test decides. */
function scriptedStore() {
  const inner = new session.MemoryStore();
  let failure: Error | undefined;
  const store = Object.assign(Object.create(inner) as session.Store, {
    get: (sid: string, cb: (err: unknown, s?: session.SessionData | null) => void) => (failure ? cb(failure) : inner.get(sid, cb)),
    set: (sid: string, s: session.SessionData, cb?: (err?: unknown) => void) => (failure ? cb?.(failure) : inner.set(sid, s, cb)),
    destroy: (sid: string, cb?: (err?: unknown) => void) => (failure ? cb?.(failure) : inner.destroy(sid, cb)),
  });
  return {
    store,
    inner,
    fail: (err?: Error) => {
      failure = err;
    },
  };
}

describe('fromExpressSessionStore', () => {
  let client: RedisClientType;
  const prefix = uniquePrefix();
  beforeAll(async () => {
    client = await connect();
  });
  afterAll(async () => {
    await dropPrefix(client, prefix);
    client.destroy();
  });

  it('writes its defaults out and is not atomic', () => {
    expect(DEFAULT_ADAPTER_PREFIX).toBe('mcp-oauth:');
    const store = fromExpressSessionStore(new session.MemoryStore());
    expect(store.atomic).toBe(false);
    expect(store.available).toBe(true);
    expect(store.publish).toBeUndefined();
  });

  it('validates its arguments, quoting the argument name', () => {
    expect(() => fromExpressSessionStore({} as session.Store)).toThrow(/"sessionStore"/);
    expect(() => fromExpressSessionStore(new session.MemoryStore(), { prefix: 1 as unknown as string })).toThrow(/"options.prefix"/);
  });

  it('keeps values as session-shaped objects so the wrapped store applies the TTL', async () => {
    const inner = new session.MemoryStore();
    const store = fromExpressSessionStore(inner);
    await store.set('k', 'value', 60_000);
    const raw = await new Promise<unknown>((resolve) => inner.get('mcp-oauth:k', (_err, s) => resolve(s)));
    expect(raw).toMatchObject({ v: 'value', cookie: { originalMaxAge: 60_000 } });
    const expires = new Date((raw as { cookie: { expires: string } }).cookie.expires).getTime();
    expect(expires).toBeGreaterThan(Date.now());
  });

  it('gives connect-redis keys a TTL from cookie.expires', async () => {
    const store = fromExpressSessionStore(new ConnectRedisStore({ client, prefix }), { prefix: 'p:' });
    await store.set('ttl', 'v', 30_000);
    const ttl = await client.pTTL(`${prefix}p:ttl`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(31_000);
  });

  it('serializes take and add per key within one process', async () => {
    const store = fromExpressSessionStore(new ConnectRedisStore({ client, prefix }));
    await store.set('code', 'single-use', 60_000);
    const takes = await Promise.all(Array.from({ length: 50 }, () => store.take('code')));
    expect(takes.filter((v) => v !== undefined)).toEqual(['single-use']);
    const adds = await Promise.all(Array.from({ length: 50 }, (_, i) => store.add('lock', `owner-${i}`, 60_000)));
    expect(adds.filter(Boolean)).toHaveLength(1);
  });

  it('turns unavailable on a connection error and available again on the next success', async () => {
    const { store: wrapped, fail } = scriptedStore();
    const store = fromExpressSessionStore(wrapped);
    await store.set('k', 'v', 60_000);
    fail(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }));
    const error = await store.get('k').catch((err: unknown) => err);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as Error).cause).toMatchObject({ code: 'ECONNREFUSED' });
    expect(store.available).toBe(false);
    await expect(store.take('k')).rejects.toBeInstanceOf(StoreUnavailableError);
    fail(undefined);
    await expect(store.get('k')).resolves.toBe('v'); // the failed take deleted nothing
    expect(store.available).toBe(true);
  });

  it('reports other wrapped-store errors as StoreUnavailableError but stays available', async () => {
    const { store: wrapped, fail } = scriptedStore();
    const store = fromExpressSessionStore(wrapped);
    fail(new Error('value too large'));
    await expect(store.set('k', 'v', 1_000)).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(store.available).toBe(true);
  });

  it('rejects with StoreUnavailableError when the connect-redis client is gone', async () => {
    const own = await connect();
    const store = fromExpressSessionStore(new ConnectRedisStore({ client: own, prefix }));
    own.destroy();
    await expect(store.get('k')).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(store.available).toBe(false);
    await expect(store.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
  });
});
