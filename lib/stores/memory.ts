import { EventEmitter } from 'node:events';
import { describeError, resolveLogger, type Logger, type ResolvedLogger } from '../logger.js';
import type { Store } from './store.js';

/** Default bound on durable entries; the least recently used durable entry is evicted beyond it. */
export const DEFAULT_MEMORY_MAX_ENTRIES = 100_000;
/** Default bound on short-lived entries (TTL ≤ {@link DEFAULT_MEMORY_SHORT_LIVED_TTL_MS}), kept apart so they never evict durable ones. */
export const DEFAULT_MEMORY_MAX_SHORT_LIVED_ENTRIES = 100_000;
/** Entries written with a TTL up to this (1 hour: codes, pending sign-ins, pre-approval browser sessions, rate-limit counters) are short-lived. */
export const DEFAULT_MEMORY_SHORT_LIVED_TTL_MS = 3_600_000;
/** Default interval of the sweep that removes expired entries. */
export const DEFAULT_MEMORY_SWEEP_INTERVAL_MS = 60_000;

const PRODUCTION_WARNING =
  'MemoryStore keeps sessions, codes and locks in this process only: they are lost on restart and not shared between instances. Use RedisStore in production.';

/** Set on `globalThis` once warned, so the warning fires once per process even with two copies of this module. */
const WARNED = Symbol.for('mcp-oauth-proxy.MemoryStore.productionWarning');

/**
 * Options for {@link MemoryStore}.
 *
 * @example
 * ```ts
 * new MemoryStore({ maxEntries: 50_000, sweepIntervalMs: 30_000 });
 * ```
 */
export interface MemoryStoreOptions {
  /** Maximum number of durable entries (clients, sessions, refresh tokens, vault) before the least recently used is evicted. Default `100_000`. */
  maxEntries?: number;
  /**
   * Maximum number of short-lived entries, a separate bound: a flood of
   * anonymous short-lived records (pre-approval browser sessions, pending
   * sign-ins) evicts only other short-lived records, never a durable one. Default `100_000`.
   */
  maxShortLivedEntries?: number;
  /** Entries written with a TTL up to this many milliseconds count as short-lived. Default `3_600_000` (1 hour). */
  shortLivedTtlMs?: number;
  /** How often expired entries are swept, in milliseconds. Default `60_000`. */
  sweepIntervalMs?: number;
  /** Time source in milliseconds (tests). Default `Date.now`. */
  clock?: () => number;
  /** Receives the one-time production warning. Default: `console.warn`. */
  logger?: Logger;
}

/** Value, expiry (ms since epoch), the insertion sequence number when last moved to the recent end, and whether it is short-lived. */
interface Entry {
  v: string;
  e: number;
  t: number;
  s: boolean;
}

/** One LRU class: its entries in eviction order, its bound, and how old an entry must be before a read moves it. */
interface Lru {
  map: Map<string, Entry>;
  max: number;
  refreshAfter: number;
}

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
  readonly #durable: Lru;
  readonly #short: Lru;
  readonly #shortTtlMs: number;
  readonly #events = new EventEmitter();
  #seq = 0;
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
    this.#durable = { map: new Map(), max: maxEntries, refreshAfter: Math.floor(maxEntries / 4) };
    this.#short = { map: new Map(), max: maxShortLivedEntries, refreshAfter: Math.floor(maxShortLivedEntries / 4) };
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
    return this.#durable.map.size + this.#short.map.size;
  }

  /** The number of short-lived entries held (see `maxShortLivedEntries`). */
  get shortLivedSize(): number {
    return this.#short.map.size;
  }

  /** Removes every expired entry now. The periodic sweep calls it. */
  sweep(): void {
    const now = this.#clock();
    for (const { map } of [this.#durable, this.#short]) for (const [key, entry] of map) if (entry.e <= now) map.delete(key);
  }

  async get(key: string): Promise<string | undefined> {
    return this.#read(key)?.v;
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
    return entry?.v;
  }

  async delete(key: string): Promise<void> {
    this.#remove(key);
  }

  async deleteIf(key: string, value: string): Promise<boolean> {
    if (this.#read(key)?.v !== value) return false;
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
    const count = (Number.parseInt(entry.v, 10) || 0) + 1;
    entry.v = String(count);
    return { count, ttlMs: entry.e - now };
  }

  async renewIf(key: string, value: string, ttlMs: number): Promise<boolean> {
    const entry = this.#read(key);
    if (entry?.v !== value) return false;
    checkTtl(ttlMs);
    entry.e = this.#clock() + ttlMs;
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

  /**
   * Live entry, or undefined; drops an expired one. A read moves the entry to
   * the recent end of the map (insertion order is the eviction order), but only
   * once it is more than a quarter of `maxEntries` insertions old: an entry read
   * since then cannot be evicted before three quarters of `maxEntries` newer
   * entries were written, and a hot entry does not pay a delete and a re-insert
   * (and the map's rehashing) on every read.
   */
  #read(key: string): Entry | undefined {
    const entry = this.#durable.map.get(key) ?? this.#short.map.get(key);
    if (!entry) return undefined;
    const lru = entry.s ? this.#short : this.#durable;
    if (entry.e <= this.#clock()) {
      lru.map.delete(key);
      return undefined;
    }
    if (this.#seq - entry.t > lru.refreshAfter) {
      lru.map.delete(key);
      entry.t = ++this.#seq;
      lru.map.set(key, entry);
    }
    return entry;
  }

  #remove(key: string): void {
    if (!this.#durable.map.delete(key)) this.#short.map.delete(key);
  }

  /** Writes into the entry's class (by TTL) and evicts the least recently used of that class only. */
  #write(key: string, value: string, ttlMs: number): void {
    checkTtl(ttlMs);
    if (typeof value !== 'string') throw new TypeError('"value" must be a string');
    this.#remove(key);
    const short = ttlMs <= this.#shortTtlMs;
    const { map, max } = short ? this.#short : this.#durable;
    while (map.size >= max) {
      const oldest = map.keys().next();
      if (oldest.done) break;
      map.delete(oldest.value);
    }
    map.set(key, { v: value, e: this.#clock() + ttlMs, t: ++this.#seq, s: short });
  }
}

function checkTtl(ttlMs: number): void {
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw new TypeError('"ttlMs" must be a positive number');
}
