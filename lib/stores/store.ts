import { ProxyError } from '../errors/base.js';
import type { Store as SessionStore } from 'express-session';

/**
 * The storage contract every proxy store implements.
 *
 * It is a small key/value interface with TTLs and the few atomic operations the
 * OAuth protocol needs (single-use codes, locks). Values are opaque strings; the
 * proxy serialises, hashes and encrypts before it calls the store, so a store
 * never sees an upstream token, an authorization code or a refresh token in
 * plaintext.
 *
 * Every method that cannot reach its backend must reject with
 * {@link StoreUnavailableError} (or an error the proxy can recognise as a
 * connection failure) and must not delete anything: the proxy then answers
 * `503 temporarily_unavailable` instead of treating data as gone.
 *
 * Run `runStoreContractTests` from `mcp-oauth-proxy/testing` against your
 * adapter to check it.
 *
 * @example
 * ```ts
 * import type { Store } from 'mcp-oauth-proxy';
 * class MyStore implements Store {
 *   readonly atomic = true;
 *   get available() { return this.db.connected; }
 *   async get(key: string) { ... }
 *   // ...
 * }
 * ```
 */
export interface Store {
  /**
   * `true` when `take`, `add`, `deleteIf` and `renewIf` are atomic across every
   * process that shares the store. With a store that is not, the proxy warns at
   * startup that single-use codes, refresh-token rotation and the upstream
   * refresh lock hold within one process only: run one instance on it (see
   * README, "Stores").
   */
  readonly atomic: boolean;

  /**
   * A cheap, synchronous health flag (no I/O). `requireSession()` reads it on
   * every request and answers 503 while it is `false`, so a store outage never
   * turns into a 401 that makes clients discard valid tokens.
   */
  readonly available: boolean;

  /** Resolves the value, or `undefined` when the key is absent or expired. */
  get(key: string): Promise<string | undefined>;

  /** Writes the value with a time to live in milliseconds (> 0). */
  set(key: string, value: string, ttlMs: number): Promise<void>;

  /** Writes only when the key is absent (`SET NX PX`). Resolves `true` when written. */
  add(key: string, value: string, ttlMs: number): Promise<boolean>;

  /** Reads and deletes in one atomic step (`GETDEL`). Two concurrent takes never both get the value. */
  take(key: string): Promise<string | undefined>;

  /** Deletes the key; absent keys are not an error. */
  delete(key: string): Promise<void>;

  /** Deletes the key only when its value equals `value` (compare-and-delete, lock release). */
  deleteIf(key: string, value: string): Promise<boolean>;

  /** Resets the TTL only when the value equals `value` (compare-and-expire, lock renewal). */
  renewIf(key: string, value: string, ttlMs: number): Promise<boolean>;

  /**
   * Optional, atomic counter for the proxy's rate limits (`INCR` + `PEXPIRE`):
   * adds 1 to the integer under `key`, creating it with `ttlMs` when absent (the
   * TTL is not extended by later increments: a fixed window). Resolves to the new
   * count and the milliseconds left in the window. Without it the proxy counts
   * per process (see README, "Rate limits").
   */
  increment?(key: string, ttlMs: number): Promise<{ count: number; ttlMs: number }>;

  /** Resolves when the backend answers; rejects otherwise. Used by `oauth.ready()`. */
  ping(): Promise<void>;

  /**
   * Optional broadcast channel. When present, the proxy uses it to tell every
   * instance at once that a session has ended, so `requireSession()` can refuse
   * that session's access tokens without a store round trip per request.
   */
  publish?(channel: string, message: string): Promise<void>;

  /** Optional: subscribe to {@link Store.publish}. Resolves to an unsubscribe function. */
  subscribe?(channel: string, listener: (message: string) => void): Promise<() => Promise<void>>;

  /**
   * Optional: the express-session store used for the browser leg of a sign-in
   * (pending authorization, consent, CSRF). When absent, the proxy adapts this
   * store with `toSessionStore()`. The proxy passes its key namespace (see the
   * README's storage schema); keep the session keys under it, so that proxies
   * sharing the store never share browser sessions.
   */
  sessionStore?(namespace?: string): SessionStore;

  /** Optional: releases timers and subscriptions the store created (never the client it was given). */
  close?(): Promise<void>;
}

/**
 * Thrown (or rejected) by a store whose backend cannot be reached. The proxy
 * answers it with `503` and `Retry-After`, and deletes nothing.
 *
 * @example
 * ```ts
 * try { await client.get(key); } catch (cause) { throw new StoreUnavailableError('redis get failed', { cause }); }
 * ```
 */
export class StoreUnavailableError extends ProxyError {
  declare readonly code: 'ERR_STORE_UNAVAILABLE';
  constructor(message = 'The session store is unavailable', options?: { cause?: unknown }) {
    super('ERR_STORE_UNAVAILABLE', message, options);
    this.name = 'StoreUnavailableError';
  }
}
