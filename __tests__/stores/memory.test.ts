import { afterEach, describe, expect, it, jest } from '@jest/globals';
import express from 'express';
import session from 'express-session';
import type { AddressInfo } from 'node:net';
import { DEFAULT_MEMORY_MAX_ENTRIES, DEFAULT_MEMORY_SWEEP_INTERVAL_MS, MemoryStore } from '../../lib/stores/memory.js';
import { toSessionStore } from '../../lib/stores/session-store.js';
import { StoreUnavailableError, type Store } from '../../lib/stores/store.js';
import { runStoreContractTests } from '../../lib/testing/index.js';

runStoreContractTests('MemoryStore', async () => {
  const store = new MemoryStore();
  return { store, cleanup: () => store.close() };
});

describe('MemoryStore', () => {
  /** Durable entries (TTL above `shortLivedTtlMs`): the ones `maxEntries` bounds. */
  const DAY = 24 * 3600_000;
  const WARNED = Symbol.for('mcp-oauth-proxy.MemoryStore.productionWarning');
  const stores: MemoryStore[] = [];
  const make = (options?: ConstructorParameters<typeof MemoryStore>[0]) => {
    const store = new MemoryStore(options);
    stores.push(store);
    return store;
  };
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
    jest.useRealTimers();
  });

  it('writes its defaults out', () => {
    expect(DEFAULT_MEMORY_MAX_ENTRIES).toBe(100_000);
    expect(DEFAULT_MEMORY_SWEEP_INTERVAL_MS).toBe(60_000);
    const store = make();
    expect(store.atomic).toBe(true);
    expect(store.available).toBe(true);
  });

  it('validates its options, quoting the argument name', () => {
    expect(() => new MemoryStore({ maxEntries: 0 })).toThrow(new TypeError('"options.maxEntries" must be a positive integer'));
    expect(() => new MemoryStore({ sweepIntervalMs: -1 })).toThrow(/"options.sweepIntervalMs"/);
    expect(() => new MemoryStore({ clock: 1 as unknown as () => number })).toThrow(/"options.clock"/);
  });

  it('rejects a non-positive TTL', async () => {
    await expect(make().set('k', 'v', 0)).rejects.toThrow(/"ttlMs"/);
  });

  it('evicts the least recently used entry at maxEntries', async () => {
    const store = make({ maxEntries: 3 });
    await store.set('a', '1', DAY);
    await store.set('b', '2', DAY);
    await store.set('c', '3', DAY);
    await store.get('a'); // a is now the most recently used
    await store.set('d', '4', DAY);
    expect(store.size).toBe(3);
    await expect(store.get('b')).resolves.toBeUndefined();
    await expect(store.get('a')).resolves.toBe('1');
    await expect(store.get('c')).resolves.toBe('3');
    await expect(store.get('d')).resolves.toBe('4');
  });

  it('an entry read since it was last moved survives at least three quarters of maxEntries new writes', async () => {
    const store = make({ maxEntries: 8 });
    for (let i = 0; i < 8; i++) await store.set(`k${i}`, String(i), DAY);
    await expect(store.get('k0')).resolves.toBe('0'); // old: moved to the recent end
    await expect(store.get('k7')).resolves.toBe('7'); // recent: left where it is
    for (let i = 0; i < 6; i++) await store.set(`n${i}`, String(i), DAY);
    expect(store.size).toBe(8);
    await expect(store.get('k0')).resolves.toBe('0');
    await expect(store.get('k7')).resolves.toBe('7');
    for (let i = 1; i < 7; i++) await expect(store.get(`k${i}`)).resolves.toBeUndefined();
  });

  // Issue 12, finding 2: ~100k anonymous GET /authorize used to fill maxEntries and evict everyone's clients and refresh tokens.
  it('short-lived entries have their own bound and never evict durable ones', async () => {
    const store = make({ maxEntries: 4, maxShortLivedEntries: 3 });
    for (let i = 0; i < 4; i++) await store.set(`durable${i}`, String(i), DAY);
    for (let i = 0; i < 50; i++) await store.set(`bsess:${i}`, 'anonymous', 600_000);
    expect(store.size).toBe(7);
    expect(store.shortLivedSize).toBe(3);
    for (let i = 0; i < 4; i++) await expect(store.get(`durable${i}`)).resolves.toBe(String(i));
    await expect(store.get('bsess:49')).resolves.toBe('anonymous');
    await expect(store.get('bsess:0')).resolves.toBeUndefined();
    // A record rewritten with a durable TTL (an approved browser session) moves to the durable class.
    await store.set('bsess:49', 'approved', DAY);
    expect(store.shortLivedSize).toBe(2);
    await expect(store.get('durable0')).resolves.toBeUndefined(); // the durable LRU made room, as before
    await expect(store.get('bsess:49')).resolves.toBe('approved');
    expect(() => new MemoryStore({ maxShortLivedEntries: 0 })).toThrow(/"options.maxShortLivedEntries"/);
  });

  it('increment counts atomically in a fixed window', async () => {
    let now = 1_000;
    const store = make({ clock: () => now });
    await expect(store.increment('rl', 10_000)).resolves.toEqual({ count: 1, ttlMs: 10_000 });
    now += 4_000;
    await expect(Promise.all([store.increment('rl', 10_000), store.increment('rl', 10_000)])).resolves.toEqual([
      { count: 2, ttlMs: 6_000 },
      { count: 3, ttlMs: 6_000 },
    ]);
    now += 6_000;
    await expect(store.increment('rl', 10_000)).resolves.toEqual({ count: 1, ttlMs: 10_000 });
  });

  it('checks expiry on read and sweeps expired entries periodically', async () => {
    let now = 1_000;
    jest.useFakeTimers({ doNotFake: ['queueMicrotask', 'nextTick', 'setImmediate'] });
    const store = make({ clock: () => now, sweepIntervalMs: 1_000 });
    await store.set('short', 'x', 500);
    await store.set('long', 'y', 5_000);
    now += 600;
    await expect(store.get('short')).resolves.toBeUndefined(); // expired on read
    await store.set('short2', 'z', 500);
    now += 600;
    expect(store.size).toBe(2); // short2 expired but not yet read
    jest.advanceTimersByTime(1_000);
    expect(store.size).toBe(1);
    await expect(store.get('long')).resolves.toBe('y');
  });

  it('shares publish/subscribe between proxies using one instance', async () => {
    const store = make();
    const received: string[] = [];
    const unsubscribe = await store.subscribe('ch', (m) => received.push(m));
    await store.publish('ch', 'one');
    await store.publish('other', 'ignored');
    await store.publish('error', 'no listener: must not throw');
    await new Promise((r) => setImmediate(r));
    expect(received).toEqual(['one']);
    await unsubscribe();
    await store.publish('ch', 'two');
    await new Promise((r) => setImmediate(r));
    expect(received).toEqual(['one']);
  });

  it('warns once per process in production, through the logger when given', () => {
    const previous = process.env.NODE_ENV;
    const flags = globalThis as Record<symbol, unknown>;
    delete flags[WARNED];
    const warn = jest.fn();
    const consoleWarn = jest.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      process.env.NODE_ENV = 'production';
      make({ logger: { warn, error: jest.fn() } });
      make({ logger: { warn, error: jest.fn() } });
      make();
      expect(warn).toHaveBeenCalledTimes(1);
      expect(String(warn.mock.calls[0]?.[1])).toMatch(/this process only/);
      expect(consoleWarn).not.toHaveBeenCalled();
      delete flags[WARNED];
      make();
      expect(consoleWarn).toHaveBeenCalledTimes(1);
      process.env.NODE_ENV = 'test';
      delete flags[WARNED];
      make({ logger: { warn, error: jest.fn() } });
      expect(warn).toHaveBeenCalledTimes(1);
    } finally {
      process.env.NODE_ENV = previous;
      consoleWarn.mockRestore();
    }
  });
});

describe('toSessionStore', () => {
  async function roundTrip(store: Store, cookie: session.CookieOptions = {}, errors: unknown[] = []) {
    const app = express();
    app.use(session({ secret: 'x'.repeat(32), resave: false, saveUninitialized: false, store: toSessionStore(store), cookie }));
    app.get('/set', (req, res) => {
      (req.session as unknown as { n: number }).n = 42;
      res.send('ok');
    });
    app.get('/get', (req, res) => {
      res.json({ n: (req.session as unknown as { n?: number }).n ?? null });
    });
    app.use((err: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      errors.push(err);
      if (!res.headersSent) res.status(503).send(err.name);
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const first = await fetch(`${base}/set`);
      const cookieHeader = first.headers.get('set-cookie')?.split(';')[0] ?? '';
      const second = await fetch(`${base}/get`, { headers: { cookie: cookieHeader } });
      return { first, second, body: second.status === 200 ? await second.json() : await second.text() };
    } finally {
      await new Promise((r) => server.close(r));
    }
  }

  it('keeps an express-session in the store with the cookie maxAge as TTL', async () => {
    const store = new MemoryStore();
    const set = jest.spyOn(store, 'set');
    const { second, body } = await roundTrip(store, { maxAge: 120_000 });
    expect(second.status).toBe(200);
    expect(body).toEqual({ n: 42 });
    expect(set.mock.calls[0]?.[0]).toMatch(/^bsess:/);
    const ttl = set.mock.calls[0]?.[2] ?? 0; // the cookie's remaining maxAge when saved
    expect(ttl).toBeGreaterThan(100_000);
    expect(ttl).toBeLessThanOrEqual(120_000);
    await store.close();
  });

  it('uses the 24 h default TTL for a browser-session cookie', async () => {
    const store = new MemoryStore();
    const set = jest.spyOn(store, 'set');
    await roundTrip(store);
    expect(set.mock.calls[0]?.[2]).toBe(24 * 60 * 60 * 1000);
    await store.close();
  });

  it('touch renews the TTL without overwriting a newer write; destroy deletes', async () => {
    const store = new MemoryStore();
    const sessions = toSessionStore(store, { prefix: 'b:', ttlMs: 1_000 });
    const call = (fn: (cb: (err?: unknown) => void) => void) =>
      new Promise<void>((resolve, reject) => fn((err) => (err ? reject(err) : resolve())));
    const data = (n: number, maxAge?: number) =>
      ({ cookie: { originalMaxAge: maxAge ?? null, maxAge }, n }) as unknown as session.SessionData;
    await call((cb) => sessions.set('sid', data(1), cb));
    const renewIf = jest.spyOn(store, 'renewIf');
    await call((cb) => sessions.touch?.('sid', data(0, 50_000), cb));
    expect(renewIf).toHaveBeenCalledWith('b:sid', expect.any(String), 50_000);
    expect(JSON.parse((await store.get('b:sid')) ?? '{}')).toMatchObject({ n: 1 });
    await call((cb) => sessions.destroy('sid', cb));
    await expect(store.get('b:sid')).resolves.toBeUndefined();
    expect(() => toSessionStore(store, { ttlMs: 0 })).toThrow(/"options.ttlMs"/);
    await store.close();
  });

  it('passes store errors to express-session (next(err)), never swallowing them', async () => {
    const store = new MemoryStore();
    const errors: unknown[] = [];
    const set = jest.spyOn(store, 'set').mockRejectedValueOnce(new StoreUnavailableError());
    await roundTrip(store, {}, errors); // the save runs as the response ends, so only the handler sees it
    expect(errors).toEqual([expect.any(StoreUnavailableError)]);
    set.mockRestore();
    jest.spyOn(store, 'get').mockRejectedValue(new StoreUnavailableError());
    const { second } = await roundTrip(store, {}, errors);
    expect(second.status).toBe(503);
    expect(errors).toHaveLength(2);
    await store.close();
  });
});
