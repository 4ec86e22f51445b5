import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Store } from '../stores/store.js';

/**
 * Options for {@link runStoreContractTests}.
 *
 * @example
 * ```ts
 * runStoreContractTests('MyStore', factory, { atomic: false });
 * ```
 */
export interface StoreContractOptions {
  /** Run the concurrency tests (50 concurrent `take`/`add` of one key). Default `true`. */
  atomic?: boolean;
}

/** Default: the concurrency tests run. */
const DEFAULT_ATOMIC = true;
const CONCURRENCY = 50;
// Long enough that a loaded machine (the CI shares 2 cores) never lets it lapse between two commands of one test.
const SHORT_TTL_MS = 2_000;
const LONG_TTL_MS = 60_000;
const POLL_TIMEOUT_MS = 10_000;
const POLL_INTERVAL_MS = 25;
const SLOW_TEST_TIMEOUT_MS = 20_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves once `check()` is true; fails after a bound, never asserts on speed. */
async function eventually(check: () => Promise<boolean> | boolean, what: string): Promise<void> {
  const deadline = Date.now() + POLL_TIMEOUT_MS;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(POLL_INTERVAL_MS);
  }
}

/**
 * Registers a jest `describe` block that checks a {@link Store} against the
 * contract the proxy relies on: round trips, TTLs, `add`/`take`/`deleteIf`/
 * `renewIf` semantics, large and unicode values, hash-tagged keys, `ping`, and
 * publish/subscribe when the store has it. With `atomic` (the default) it also
 * checks that 50 concurrent `take`s of one key yield the value exactly once.
 *
 * `factory` is called once for the block; every test uses fresh random keys, so
 * a shared backend is fine. `cleanup` runs after the block.
 *
 * @example
 * ```ts
 * import { runStoreContractTests } from 'mcp-oauth-proxy/testing';
 * import { MyStore } from '../src/my-store.js';
 *
 * runStoreContractTests('MyStore', async () => {
 *   const store = new MyStore(await connect());
 *   return { store, cleanup: () => store.close() };
 * });
 * ```
 */
export function runStoreContractTests(
  name: string,
  factory: () => Promise<{ store: Store; cleanup?: () => Promise<void> }>,
  options: StoreContractOptions = {},
): void {
  if (typeof name !== 'string' || name === '') throw new TypeError('"name" must be a non-empty string');
  if (typeof factory !== 'function') throw new TypeError('"factory" must be a function');
  const { atomic = DEFAULT_ATOMIC } = options;

  describe(`Store contract: ${name}`, () => {
    let store: Store;
    let cleanup: (() => Promise<void>) | undefined;
    const run = randomUUID();
    const key = (label: string) => `contract:${run}:${label}:${randomUUID()}`;

    beforeAll(async () => {
      ({ store, cleanup } = await factory());
    });
    afterAll(async () => {
      await cleanup?.();
    });

    it('is available and answers ping', async () => {
      expect(store.available).toBe(true);
      await expect(store.ping()).resolves.toBeUndefined();
    });

    it('round-trips a value, overwrites it, and answers undefined for a missing key', async () => {
      const k = key('roundtrip');
      await expect(store.get(k)).resolves.toBeUndefined();
      await store.set(k, 'one', LONG_TTL_MS);
      await expect(store.get(k)).resolves.toBe('one');
      await store.set(k, 'two', LONG_TTL_MS);
      await expect(store.get(k)).resolves.toBe('two');
      await store.set(k, '', LONG_TTL_MS);
      await expect(store.get(k)).resolves.toBe('');
    });

    it('preserves unicode and 10 KB values exactly', async () => {
      const unicode = 'héllo ✓ 日本語 🔐 "quoted" \\ \n\t\u0000 end';
      const large = 'x'.repeat(10 * 1024 - 7) + 'ümlaut🙂';
      const k1 = key('unicode');
      const k2 = key('large');
      await store.set(k1, unicode, LONG_TTL_MS);
      await store.set(k2, large, LONG_TTL_MS);
      await expect(store.get(k1)).resolves.toBe(unicode);
      await expect(store.get(k2)).resolves.toBe(large);
    });

    it('accepts keys with hash tags and colons', async () => {
      const sid = randomUUID();
      const vault = `vault:{${sid}}:upstream:${run}`;
      const lock = `lock:{${sid}}:upstream:${run}`;
      await store.set(vault, 'sealed', LONG_TTL_MS);
      await expect(store.add(lock, 'owner', LONG_TTL_MS)).resolves.toBe(true);
      await expect(store.get(vault)).resolves.toBe('sealed');
      await expect(store.take(lock)).resolves.toBe('owner');
      await store.delete(vault);
      await expect(store.get(vault)).resolves.toBeUndefined();
    });

    it(
      'expires values after their TTL and keeps live ones',
      async () => {
        const short = key('short');
        const long = key('long');
        await store.set(short, 'gone soon', SHORT_TTL_MS);
        await store.set(long, 'stays', LONG_TTL_MS);
        await eventually(async () => (await store.get(short)) === undefined, 'the short-lived value expired');
        await expect(store.get(long)).resolves.toBe('stays');
      },
      SLOW_TEST_TIMEOUT_MS,
    );

    it(
      'add writes only when the key is absent (or expired)',
      async () => {
        const k = key('add');
        await expect(store.add(k, 'first', SHORT_TTL_MS)).resolves.toBe(true);
        await expect(store.add(k, 'second', LONG_TTL_MS)).resolves.toBe(false);
        await expect(store.get(k)).resolves.toBe('first');
        await eventually(async () => store.add(k, 'third', LONG_TTL_MS), 'add succeeded after expiry');
        await expect(store.get(k)).resolves.toBe('third');
      },
      SLOW_TEST_TIMEOUT_MS,
    );

    it('take returns the value once and deletes it', async () => {
      const k = key('take');
      await expect(store.take(k)).resolves.toBeUndefined();
      await store.set(k, 'code', LONG_TTL_MS);
      await expect(store.take(k)).resolves.toBe('code');
      await expect(store.take(k)).resolves.toBeUndefined();
      await expect(store.get(k)).resolves.toBeUndefined();
    });

    it('delete removes a key and is idempotent', async () => {
      const k = key('delete');
      await store.set(k, 'v', LONG_TTL_MS);
      await expect(store.delete(k)).resolves.toBeUndefined();
      await expect(store.get(k)).resolves.toBeUndefined();
      await expect(store.delete(k)).resolves.toBeUndefined();
    });

    it('deleteIf deletes only when the value matches', async () => {
      const k = key('deleteIf');
      await expect(store.deleteIf(k, 'owner')).resolves.toBe(false);
      await store.set(k, 'owner', LONG_TTL_MS);
      await expect(store.deleteIf(k, 'someone else')).resolves.toBe(false);
      await expect(store.get(k)).resolves.toBe('owner');
      await expect(store.deleteIf(k, 'owner')).resolves.toBe(true);
      await expect(store.get(k)).resolves.toBeUndefined();
    });

    it(
      'renewIf resets the TTL only when the value matches',
      async () => {
        const k = key('renewIf');
        await expect(store.renewIf(k, 'owner', LONG_TTL_MS)).resolves.toBe(false);
        await store.set(k, 'owner', LONG_TTL_MS);
        await expect(store.renewIf(k, 'someone else', SHORT_TTL_MS)).resolves.toBe(false);
        await expect(store.get(k)).resolves.toBe('owner');
        // Renewing to a short TTL proves the TTL was reset, without waiting out a long one.
        await expect(store.renewIf(k, 'owner', SHORT_TTL_MS)).resolves.toBe(true);
        await eventually(async () => (await store.get(k)) === undefined, 'the renewed value expired');
      },
      SLOW_TEST_TIMEOUT_MS,
    );

    it(
      'renewIf extends a value past its first TTL',
      async () => {
        const k = key('renewIf-extend');
        await store.set(k, 'owner', 1_000);
        await expect(store.renewIf(k, 'owner', LONG_TTL_MS)).resolves.toBe(true);
        await sleep(1_500);
        await expect(store.get(k)).resolves.toBe('owner');
      },
      SLOW_TEST_TIMEOUT_MS,
    );

    if (atomic) {
      it(`${CONCURRENCY} concurrent takes of one key yield the value exactly once`, async () => {
        const k = key('concurrent-take');
        await store.set(k, 'single-use', LONG_TTL_MS);
        const results = await Promise.all(Array.from({ length: CONCURRENCY }, () => store.take(k)));
        expect(results.filter((r) => r !== undefined)).toEqual(['single-use']);
      });

      it(`${CONCURRENCY} concurrent adds of one key succeed exactly once`, async () => {
        const k = key('concurrent-add');
        const results = await Promise.all(Array.from({ length: CONCURRENCY }, (_, i) => store.add(k, `owner-${i}`, LONG_TTL_MS)));
        expect(results.filter(Boolean)).toHaveLength(1);
        await expect(store.get(k)).resolves.toBe(`owner-${results.indexOf(true)}`);
      });
    }

    it(`increment counts ${CONCURRENCY} concurrent calls exactly, in one fixed window (when the store has increment)`, async () => {
      if (typeof store.increment !== 'function') return;
      const k = key('increment');
      const results = await Promise.all(Array.from({ length: CONCURRENCY }, () => store.increment!(k, LONG_TTL_MS)));
      expect(results.map((r) => r.count).sort((a, b) => a - b)).toEqual(Array.from({ length: CONCURRENCY }, (_, i) => i + 1));
      for (const r of results) {
        expect(r.ttlMs).toBeGreaterThan(0);
        expect(r.ttlMs).toBeLessThanOrEqual(LONG_TTL_MS);
      }
    });

    it(
      'delivers published messages to subscribers (when the store has pub/sub)',
      async () => {
        if (!store.publish || !store.subscribe) return;
        const channel = `contract:${run}:channel`;
        const first: string[] = [];
        const second: string[] = [];
        const unsubscribeFirst = await store.subscribe(channel, (m) => first.push(m));
        await store.publish(channel, 'hello ✓');
        await eventually(() => first.includes('hello ✓'), 'the subscriber received the message');
        await unsubscribeFirst();
        const unsubscribeSecond = await store.subscribe(channel, (m) => second.push(m));
        await store.publish(channel, 'after');
        await eventually(() => second.includes('after'), 'the second subscriber received the message');
        expect(first).toEqual(['hello ✓']);
        await unsubscribeSecond();
      },
      SLOW_TEST_TIMEOUT_MS,
    );
  });
}
