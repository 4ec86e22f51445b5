import type { Logger } from '../logger.js';

/** Default bound on durable entries; the least recently used durable entry is evicted beyond it. */
export const DEFAULT_MEMORY_MAX_ENTRIES = 100_000;
/** Default bound on short-lived entries (TTL ≤ {@link DEFAULT_MEMORY_SHORT_LIVED_TTL_MS}), kept apart so they never evict durable ones. */
export const DEFAULT_MEMORY_MAX_SHORT_LIVED_ENTRIES = 100_000;
/** Entries written with a TTL up to this (1 hour: codes, pending sign-ins, pre-approval browser sessions, rate-limit counters) are short-lived. */
export const DEFAULT_MEMORY_SHORT_LIVED_TTL_MS = 3_600_000;
/** Default interval of the sweep that removes expired entries. */
export const DEFAULT_MEMORY_SWEEP_INTERVAL_MS = 60_000;

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
