import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createClient, type RedisClientType } from 'redis';
import { RedisStore } from '../../lib/stores/redis.js';
import { StoreUnavailableError } from '../../lib/stores/store.js';
import { startRedisServer, waitFor, type RedisServer } from '../helpers/redis.js';

describe('RedisStore during a Redis outage', () => {
  let server: RedisServer & { dispose(): Promise<void> };
  let client: RedisClientType;
  let store: RedisStore;
  const received: string[] = [];

  beforeAll(async () => {
    server = await startRedisServer();
    // Defaults on purpose: offline queue on, node-redis' own reconnect strategy.
    client = createClient({ url: server.url });
    client.on('error', () => {});
    await client.connect();
    store = new RedisStore({ client, prefix: 'outage:', commandTimeoutMs: 500, logger: { warn: () => {}, error: () => {} } });
    await store.subscribe('ended', (m) => received.push(m));
  });

  afterAll(async () => {
    await store?.close().catch(() => {});
    client?.destroy();
    await server?.dispose();
  });

  it('works before the outage', async () => {
    await store.set('before', 'v', 60_000);
    await expect(store.get('before')).resolves.toBe('v');
    expect(store.available).toBe(true);
  });

  it('a command to a server that does not answer rejects with StoreUnavailableError (command timeout)', async () => {
    const pauser = client.duplicate();
    pauser.on('error', () => {});
    await pauser.connect();
    try {
      await pauser.sendCommand(['CLIENT', 'PAUSE', '1500', 'ALL']);
      const error = await store.get('before').catch((err: unknown) => err);
      expect(error).toBeInstanceOf(StoreUnavailableError);
      await waitFor(async () => (await store.get('before').catch(() => undefined)) === 'v', 'the pause ended');
    } finally {
      pauser.destroy();
    }
  });

  it('while Redis is down: available is false and every operation rejects with StoreUnavailableError', async () => {
    await server.stop();
    await waitFor(() => !store.available, 'the store reports the outage');
    const operations: Array<[string, () => Promise<unknown>]> = [
      ['get', () => store.get('before')],
      ['set', () => store.set('written-while-down', 'v', 60_000)],
      ['add', () => store.add('added-while-down', 'v', 60_000)],
      ['take', () => store.take('before')],
      ['delete', () => store.delete('before')],
      ['deleteIf', () => store.deleteIf('before', 'v')],
      ['renewIf', () => store.renewIf('before', 'v', 60_000)],
      ['ping', () => store.ping()],
      ['publish', () => store.publish('ended', 'lost')],
      ['subscribe', () => store.subscribe('other', () => {})],
    ];
    for (const [name, operation] of operations) {
      const error = await operation().then(() => new Error(`${name} resolved`), (err: unknown) => err);
      expect([name, error]).toEqual([name, expect.any(StoreUnavailableError)]);
    }
    const sessionError = await new Promise((resolve) => store.sessionStore().get('sid', (err) => resolve(err)));
    expect(sessionError).toBeInstanceOf(StoreUnavailableError);
  });

  it('after Redis is back the same client reconnects, the store works, and nothing rejected was replayed', async () => {
    await server.restart(); // empty: the server keeps no data (--save '')
    await waitFor(() => store.available, 'the client reconnected');
    await expect(store.ping()).resolves.toBeUndefined();
    // A rejected write must not sit in node-redis' offline queue and run after the reconnect.
    await expect(store.get('written-while-down')).resolves.toBeUndefined();
    await expect(store.get('added-while-down')).resolves.toBeUndefined();
    await store.set('after', 'v2', 60_000);
    await expect(store.take('after')).resolves.toBe('v2');
    // The subscriber connection reconnected and resubscribed by itself.
    await waitFor(async () => {
      await store.publish('ended', 'sid-after');
      return received.includes('sid-after');
    }, 'the subscription delivers again');
    expect(received).not.toContain('lost');
  });
});
