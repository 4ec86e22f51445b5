import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createClient, type RedisClientType } from 'redis';
import { RedisStore } from '../../lib/stores/redis.js';
import { StoreUnavailableError } from '../../lib/stores/store.js';
import { startRedisServer, waitFor, type RedisServer } from '../helpers/redis.js';
import { startPersistentRedisServer, type PersistentRedisServer } from '../helpers/redis-persistent.js';

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
      const error = await operation().then(
        () => new Error(`${name} resolved`),
        (err: unknown) => err,
      );
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

describe('RedisStore when Redis freezes under load', () => {
  let server: PersistentRedisServer;
  let client: RedisClientType;
  let store: RedisStore;

  beforeAll(async () => {
    server = await startPersistentRedisServer();
    // Defaults on purpose: no socketTimeout or pingInterval, so node-redis alone would never notice the freeze.
    client = createClient({ url: server.url });
    client.on('error', () => {});
    await client.connect();
    store = new RedisStore({ client, prefix: 'frozen:', commandTimeoutMs: 500, logger: { warn: () => {}, error: () => {} } });
  });

  afterAll(async () => {
    await store?.close().catch(() => {});
    client?.destroy();
    await server?.dispose();
  });

  it('times out what was sent, sends nothing more until Redis answers again, and then works with the same client', async () => {
    // SIGSTOP: the socket stays open and nothing is read. 40 writes of 1 MB fill the kernel's socket
    // buffers after a few; node-redis holds the rest in its own queue, waiting for 'drain'.
    const value = 'x'.repeat(1024 * 1024);
    server.pause();
    try {
      const results = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          store.set(`big:${i}`, value, 60_000).then(
            () => 'stored',
            (err: unknown) => err,
          ),
        ),
      );
      expect(results.every((r) => r instanceof StoreUnavailableError && /got no answer within 500 ms/.test(r.message))).toBe(true);

      // Stalled: later commands are refused at once and never reach node-redis' queue.
      const refused = await store.set('sent-while-stalled', 'v', 60_000).catch((err: unknown) => err);
      expect(refused).toBeInstanceOf(StoreUnavailableError);
      expect((refused as Error).message).toMatch(/not answering \(SET not sent\)/);
      const sessionRefused = await new Promise((resolve) =>
        store.sessionStore().set('sid-stalled', { cookie: {} } as never, (err) => resolve(err)),
      );
      expect(sessionRefused).toBeInstanceOf(StoreUnavailableError);
      await expect(store.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
    } finally {
      server.resume();
    }

    // Redis answers the writes it had on the wire; the first answer ends the stall.
    await waitFor(async () => (await store.get('big:0').catch(() => undefined)) === value, 'the store answers again');
    await store.set('after', 'v2', 60_000);
    await expect(store.take('after')).resolves.toBe('v2');
    // Replies on one connection come in order: once this is answered, whatever was queued has run.
    await expect(client.ping()).resolves.toBe('PONG');
    await expect(client.exists('frozen:sent-while-stalled')).resolves.toBe(0);
    await expect(client.exists('frozen:bsess:sid-stalled')).resolves.toBe(0);
  }, 60_000);
});
