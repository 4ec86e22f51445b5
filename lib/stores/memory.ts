import { EventEmitter } from 'node:events';
import { describeError, resolveLogger, type ResolvedLogger } from '../logger.js';
import { BoundedLru, type LruEntry } from '../util/lru.js';
import {
  DEFAULT_MEMORY_MAX_ENTRIES,
  DEFAULT_MEMORY_MAX_SHORT_LIVED_ENTRIES,
  DEFAULT_MEMORY_SHORT_LIVED_TTL_MS,
  DEFAULT_MEMORY_SWEEP_INTERVAL_MS,
  type MemoryStoreOptions,
} from './memory-options.js';
import type { Store } from './store.js';

export * from './memory-options.js';

const PRODUCTION_WARNING =
  'MemoryStore keeps sessions, codes and locks in this process only: they are lost on restart and not shared between instances. Use RedisStore in production.';

/** Set on `globalThis` once warned, so the warning fires once per process even with two copies of this module. */
const WARNED = Symbol.for('mcp-oauth-proxy.MemoryStore.productionWarning');

/**
 * The embedded default {@link Store}: a bounded, LRU-evicting map with TTLs,
 * kept in this process only. Every operation is synchronous internally, so
 * `take`, `add`, `deleteIf` and `renewIf` are atomic for every proxy sharing
 * this instance. It does not survive a restart and is not shared between
 * processes; use `RedisStore` when you run more than one instance.
 *
 * @example
 * ```ts
 * import { MemoryStore } from 'mcp-oauth-proxy';
 * const store = new MemoryStore({ maxEntries: 10_000 });
 * await store.set('k', 'v', 60_000);
 * await store.get('k'); // 'v'
 * await store.close();
 * ```
 */
export class MemoryStore implements Store {
  readonly atomic = true;
  /** Two LRU classes, each with its own bound: entries written with a TTL up to `shortLivedTtlMs` evict only each other. */
  readonly #durable: BoundedLru<string, string>;
  readonly #short: BoundedLru<string, string>;
  readonly #shortTtlMs: number;
  readonly #events = new EventEmitter();
  readonly #clock: () => number;
  readonly #logger: ResolvedLogger;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: MemoryStoreOptions = {}) {
    if (options === null || typeof options !== 'object') throw new TypeError('"options" must be an object');
    const {
      maxEntries = DEFAULT_MEMORY_MAX_ENTRIES,
      maxShortLivedEntries = DEFAULT_MEMORY_MAX_SHORT_LIVED_ENTRIES,
      shortLivedTtlMs = DEFAULT_MEMORY_SHORT_LIVED_TTL_MS,
      sweepIntervalMs = DEFAULT_MEMORY_SWEEP_INTERVAL_MS,
      clock = Date.now,
      logger,
    } = options;
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) throw new TypeError('"options.maxEntries" must be a positive integer');
    if (!Number.isSafeInteger(maxShortLivedEntries) || maxShortLivedEntries < 1)
      throw new TypeError('"options.maxShortLivedEntries" must be a positive integer');
    if (!Number.isFinite(shortLivedTtlMs) || shortLivedTtlMs < 0) throw new TypeError('"options.shortLivedTtlMs" must be a number ≥ 0');
    if (!Number.isFinite(sweepIntervalMs) || sweepIntervalMs <= 0)
      throw new TypeError('"options.sweepIntervalMs" must be a positive number');
    if (typeof clock !== 'function') throw new TypeError('"options.clock" must be a function');
    if (logger !== undefined && (logger === null || typeof logger.warn !== 'function'))
      throw new TypeError('"options.logger" must have a warn method');
    // A read moves an entry to the recent end only once it is more than a quarter of its bound in insertions old.
    this.#durable = new BoundedLru(maxEntries, { promoteAfter: Math.floor(maxEntries / 4) });
    this.#short = new BoundedLru(maxShortLivedEntries, { promoteAfter: Math.floor(maxShortLivedEntries / 4) });
    this.#shortTtlMs = shortLivedTtlMs;
    this.#clock = clock;
    this.#logger = resolveLogger(logger);
    this.#events.setMaxListeners(0);
    this.#timer = setInterval(() => this.sweep(), sweepIntervalMs);
    this.#timer.unref();
    const flags = globalThis as Record<symbol, unknown>;
    if (process.env.NODE_ENV === 'production' && !flags[WARNED]) {
      flags[WARNED] = true;
      this.#logger.warn({}, PRODUCTION_WARNING);
    }
  }

  /** Always `true`: memory is always reachable. */
  get available(): boolean {
    return true;
  }

  /** The number of entries held (durable and short-lived), expired ones included until read or swept. */
  get size(): number {
    return this.#durable.size + this.#short.size;
  }

  /** The number of short-lived entries held (see `maxShortLivedEntries`). */
  get shortLivedSize(): number {
    return this.#short.size;
  }

  /** Removes every expired entry now. The periodic sweep calls it. */
  sweep(): void {
    const now = this.#clock();
    this.#durable.deleteExpired(now);
    this.#short.deleteExpired(now);
  }

  async get(key: string): Promise<string | undefined> {
    return this.#read(key)?.value;
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    this.#write(key, value, ttlMs);
  }

  async add(key: string, value: string, ttlMs: number): Promise<boolean> {
    if (this.#read(key)) return false;
    this.#write(key, value, ttlMs);
    return true;
  }

  async take(key: string): Promise<string | undefined> {
    const entry = this.#read(key);
    if (entry) this.#remove(key);
    return entry?.value;
  }

  async delete(key: string): Promise<void> {
    this.#remove(key);
  }

  async deleteIf(key: string, value: string): Promise<boolean> {
    if (this.#read(key)?.value !== value) return false;
    this.#remove(key);
    return true;
  }

  async increment(key: string, ttlMs: number): Promise<{ count: number; ttlMs: number }> {
    const entry = this.#read(key);
    const now = this.#clock();
    if (!entry) {
      this.#write(key, '1', ttlMs);
      return { count: 1, ttlMs };
    }
    const count = (Number.parseInt(entry.value, 10) || 0) + 1;
    entry.value = String(count);
    return { count, ttlMs: entry.expiresAt - now };
  }

  async renewIf(key: string, value: string, ttlMs: number): Promise<boolean> {
    const entry = this.#read(key);
    if (entry?.value !== value) return false;
    checkTtl(ttlMs);
    entry.expiresAt = this.#clock() + ttlMs;
    return true;
  }

  async ping(): Promise<void> {}

  async publish(channel: string, message: string): Promise<void> {
    this.#events.emit(`ch:${channel}`, message); // prefixed: a channel named 'error' must not throw
  }

  async subscribe(channel: string, listener: (message: string) => void): Promise<() => Promise<void>> {
    if (typeof listener !== 'function') throw new TypeError('"listener" must be a function');
    // Deliver asynchronously, as a real broker would, and never let a listener throw into publish().
    const wrapped = (message: string) =>
      queueMicrotask(() => {
        try {
          listener(message);
        } catch (err) {
          this.#logger.error(describeError(err), 'MemoryStore subscriber threw');
        }
      });
    this.#events.on(`ch:${channel}`, wrapped);
    return async () => {
      this.#events.off(`ch:${channel}`, wrapped);
    };
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#events.removeAllListeners();
  }

  /** The live entry, or undefined (an expired one is dropped); a read may move it to the recent end of its class. */
  #read(key: string): LruEntry<string> | undefined {
    const now = this.#clock();
    return this.#durable.entry(key, now) ?? this.#short.entry(key, now);
  }

  #remove(key: string): void {
    if (!this.#durable.delete(key)) this.#short.delete(key);
  }

  /** Writes into the entry's class (by TTL), which evicts the least recently used of that class only. */
  #write(key: string, value: string, ttlMs: number): void {
    checkTtl(ttlMs);
    if (typeof value !== 'string') throw new TypeError('"value" must be a string');
    const short = ttlMs <= this.#shortTtlMs;
    (short ? this.#durable : this.#short).delete(key);
    (short ? this.#short : this.#durable).set(key, value, this.#clock() + ttlMs);
  }
}

function checkTtl(ttlMs: number): void {
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw new TypeError('"ttlMs" must be a positive number');
}
