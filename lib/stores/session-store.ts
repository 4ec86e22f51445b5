import session from 'express-session';
import type { SessionData, Store as SessionStore } from 'express-session';
import type { Store } from './store.js';

/** Default key prefix of browser sessions kept through {@link toSessionStore}. */
export const DEFAULT_SESSION_STORE_PREFIX = 'bsess:';
/** Default lifetime of a browser session whose cookie has no `maxAge`: 24 hours. */
export const DEFAULT_SESSION_STORE_TTL_MS = 24 * 60 * 60 * 1000;

/** Options for {@link toSessionStore}. */
export interface ToSessionStoreOptions {
  /** Put before each session id. Default `'bsess:'`. */
  prefix?: string;
  /** TTL in milliseconds when the session cookie has no `maxAge`. Default 24 hours. */
  ttlMs?: number;
}

type Callback = (err?: unknown) => void;

class StoreBackedSessionStore extends session.Store {
  readonly #store: Store;
  readonly #prefix: string;
  readonly #ttlMs: number;

  constructor(store: Store, prefix: string, ttlMs: number) {
    super();
    this.#store = store;
    this.#prefix = prefix;
    this.#ttlMs = ttlMs;
  }

  override get(sid: string, callback: (err: unknown, session?: SessionData | null) => void): void {
    this.#store.get(this.#prefix + sid).then(
      (raw) => {
        let data: SessionData | null = null;
        try {
          if (raw !== undefined) data = JSON.parse(raw) as SessionData;
        } catch (err) {
          callback(err);
          return;
        }
        callback(null, data);
      },
      (err: unknown) => callback(err),
    );
  }

  override set(sid: string, data: SessionData, callback?: Callback): void {
    let raw: string;
    try {
      raw = JSON.stringify(data);
    } catch (err) {
      callback?.(err);
      return;
    }
    settle(this.#store.set(this.#prefix + sid, raw, this.#ttl(data)), callback);
  }

  override touch(sid: string, data: SessionData, callback?: Callback): void {
    // Compare-and-expire the stored value: never overwrite a newer write of the same session with this stale copy.
    const key = this.#prefix + sid;
    settle(
      this.#store.get(key).then(async (raw) => {
        if (raw !== undefined) await this.#store.renewIf(key, raw, this.#ttl(data));
      }),
      callback,
    );
  }

  override destroy(sid: string, callback?: Callback): void {
    settle(this.#store.delete(this.#prefix + sid), callback);
  }

  #ttl(data: SessionData): number {
    const maxAge = data.cookie?.maxAge;
    return typeof maxAge === 'number' && maxAge > 0 ? maxAge : this.#ttlMs;
  }
}

/**
 * Internal: the same store without `touch()`, for the proxy's own browser leg. Its sessions never
 * roll (`rolling: false`) and every change is saved explicitly, with the cookie's full `maxAge`, before
 * the response; express-session would still `touch()` the store at the end of each request that came
 * with the cookie (a read plus a compare-and-expire, or an `EXPIRE` on Redis), which only stretches
 * the record past its cookie. express-session skips the touch for a store that has none.
 */
export function withoutTouch(inner: SessionStore): SessionStore {
  return new UntouchedSessionStore(inner);
}

class UntouchedSessionStore extends session.Store {
  readonly #inner: SessionStore;
  constructor(inner: SessionStore) {
    super();
    this.#inner = inner;
  }
  override get(sid: string, callback: (err: unknown, session?: SessionData | null) => void): void {
    this.#inner.get(sid, callback);
  }
  override set(sid: string, data: SessionData, callback?: Callback): void {
    this.#inner.set(sid, data, callback);
  }
  override destroy(sid: string, callback?: Callback): void {
    this.#inner.destroy(sid, callback);
  }
}

function settle(promise: Promise<void>, callback: Callback | undefined): void {
  promise.then(
    () => callback?.(),
    (err: unknown) => {
      if (callback) callback(err);
      else
        queueMicrotask(() => {
          throw err;
        }); // never swallow a store error silently
    },
  );
}

/**
 * Adapts a {@link Store} to an express-session store, for the browser leg of a
 * sign-in. Each session is one JSON value under `prefix + sid`, kept for the
 * cookie's `maxAge` (or `ttlMs` when the cookie has none). Store errors, such
 * as `StoreUnavailableError`, reach the callback, so express-session calls
 * `next(err)`.
 *
 * @example
 * ```ts
 * import session from 'express-session';
 * import { MemoryStore, toSessionStore } from 'mcp-oauth-proxy';
 * app.use(session({ secret, store: toSessionStore(new MemoryStore()), resave: false, saveUninitialized: false }));
 * ```
 */
export function toSessionStore(store: Store, options: ToSessionStoreOptions = {}): SessionStore {
  if (
    store === null ||
    typeof store !== 'object' ||
    typeof store.get !== 'function' ||
    typeof store.set !== 'function' ||
    typeof store.delete !== 'function'
  ) {
    throw new TypeError('"store" must implement the Store interface');
  }
  if (options === null || typeof options !== 'object') throw new TypeError('"options" must be an object');
  const { prefix = DEFAULT_SESSION_STORE_PREFIX, ttlMs = DEFAULT_SESSION_STORE_TTL_MS } = options;
  if (typeof prefix !== 'string') throw new TypeError('"options.prefix" must be a string');
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw new TypeError('"options.ttlMs" must be a positive number');
  return new StoreBackedSessionStore(store, prefix, ttlMs);
}
