import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import express from 'express';
import session from 'express-session';
import type { AddressInfo } from 'node:net';
import { createClient, type RedisClientType } from 'redis';
import { DEFAULT_REDIS_COMMAND_TIMEOUT_MS, DEFAULT_REDIS_PREFIX, RedisStore } from '../../lib/stores/redis.js';
import { StoreUnavailableError } from '../../lib/stores/store.js';
import { runStoreContractTests } from '../../lib/testing/index.js';
import { redisUrl, uniquePrefix, waitFor } from '../helpers/redis.js';

async function connect(): Promise<RedisClientType> {
  const client: RedisClientType = createClient({ url: redisUrl() });
  client.on('error', () => {});
  await client.connect();
  return client;
}

async function keysUnder(client: RedisClientType, prefix: string): Promise<string[]> {
  const found: string[] = [];
  for await (const batch of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) found.push(...batch);
  return found;
}

async function dropPrefix(client: RedisClientType, prefix: string): Promise<void> {
  const found = await keysUnder(client, prefix);
  if (found.length) await client.del(found);
}

runStoreContractTests('RedisStore (standalone)', async () => {
  const client = await connect();
  const prefix = uniquePrefix();
  const store = new RedisStore({ client, prefix });
  return {
    store,
    cleanup: async () => {
      await store.close();
      await dropPrefix(client, prefix);
      client.destroy();
    },
  };
});

describe('RedisStore', () => {
  let client: RedisClientType;
  const prefix = uniquePrefix();
  beforeAll(async () => {
    client = await connect();
  });
  afterAll(async () => {
    await dropPrefix(client, prefix);
    client.destroy();
  });

  it('writes its defaults out', () => {
    expect(DEFAULT_REDIS_PREFIX).toBe('mcp-oauth:');
    expect(DEFAULT_REDIS_COMMAND_TIMEOUT_MS).toBe(5_000);
    const store = new RedisStore({ client });
    expect(store.atomic).toBe(true);
    expect(store.available).toBe(true);
  });

  it('validates its options, quoting the argument name', () => {
    expect(() => new RedisStore({} as never)).toThrow(
      new TypeError('"options.client" must be a node-redis 5 or 6 client or cluster client'),
    );
    expect(() => new RedisStore({ client, prefix: 'x{y}:' })).toThrow(/"options.prefix"/);
    expect(() => new RedisStore({ client, commandTimeoutMs: 0 })).toThrow(/"options.commandTimeoutMs"/);
  });

  it("puts the default prefix 'mcp-oauth:' before every key", async () => {
    const store = new RedisStore({ client });
    const key = `${uniquePrefix()}default-prefix`;
    try {
      await store.set(key, 'v', 60_000);
      expect(await keysUnder(client, `mcp-oauth:${key}`)).toEqual([`mcp-oauth:${key}`]);
      await expect(client.get(`mcp-oauth:${key}`)).resolves.toBe('v');
    } finally {
      await client.del(`mcp-oauth:${key}`);
    }
  });

  it('gives every key it writes a TTL', async () => {
    const store = new RedisStore({ client, prefix });
    await store.set('ttl:set', 'v', 60_000);
    await store.add('ttl:add', 'v', 60_000);
    await store.set('ttl:renew', 'v', 60_000);
    await store.renewIf('ttl:renew', 'v', 120_000);
    await store.set('vault:{sid-1}:upstream', 'sealed', 60_000);
    await new Promise<void>((resolve, reject) => {
      store
        .sessionStore()
        .set('browser-sid', { cookie: { originalMaxAge: 60_000, expires: new Date(Date.now() + 60_000) } } as session.SessionData, (err) =>
          err ? reject(err) : resolve(),
        );
    });
    const found = await keysUnder(client, prefix);
    expect(found.sort()).toEqual(
      [
        `${prefix}bsess:browser-sid`,
        `${prefix}ttl:add`,
        `${prefix}ttl:renew`,
        `${prefix}ttl:set`,
        `${prefix}vault:{sid-1}:upstream`,
      ].sort(),
    );
    for (const key of found) expect(await client.pTTL(key)).toBeGreaterThan(0);
    expect(await client.pTTL(`${prefix}ttl:renew`)).toBeGreaterThan(60_000);
  });

  it('rethrows a command error that is not an outage as is', async () => {
    const store = new RedisStore({ client, prefix });
    await client.hSet(`${prefix}a-hash`, 'f', 'v');
    await client.pExpire(`${prefix}a-hash`, 60_000);
    const error = await store.get('a-hash').catch((err: unknown) => err);
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(StoreUnavailableError);
    expect((error as Error).message).toMatch(/^WRONGTYPE/);
  });

  it('rejects with StoreUnavailableError once the client is closed', async () => {
    const own = await connect();
    const store = new RedisStore({ client: own, prefix });
    own.destroy();
    expect(store.available).toBe(false);
    await expect(store.get('x')).rejects.toBeInstanceOf(StoreUnavailableError);
  });

  it('delivers messages between stores on different clients, and close() keeps the given client open', async () => {
    const other = await connect();
    const a = new RedisStore({ client, prefix });
    const b = new RedisStore({ client: other, prefix });
    const received: string[] = [];
    await b.subscribe('ended', (m) => received.push(m));
    await a.publish('ended', 'sid-1');
    await waitFor(() => received.includes('sid-1'), 'b received the message');
    await b.close();
    await a.close();
    expect(other.isOpen).toBe(true);
    expect(client.isOpen).toBe(true);
    other.destroy();
  });

  it("keeps express-session sessions through connect-redis under '<prefix>bsess:'", async () => {
    const store = new RedisStore({ client, prefix });
    expect(store.sessionStore()).toBe(store.sessionStore());
    const app = express();
    app.use(
      session({ secret: 'x'.repeat(32), resave: false, saveUninitialized: false, store: store.sessionStore(), cookie: { maxAge: 90_000 } }),
    );
    app.get('/set', (req, res) => {
      (req.session as unknown as { n: number }).n = 7;
      res.send('ok');
    });
    app.get('/get', (req, res) => {
      res.json({ n: (req.session as unknown as { n?: number }).n ?? null, id: req.sessionID });
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const first = await fetch(`${base}/set`);
      const cookie = first.headers.get('set-cookie')?.split(';')[0] ?? '';
      const body = (await (await fetch(`${base}/get`, { headers: { cookie } })).json()) as { n: number; id: string };
      expect(body.n).toBe(7);
      const ttl = await client.pTTL(`${prefix}bsess:${body.id}`);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(90_000);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
