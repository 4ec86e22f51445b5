import type { SessionData, Store as SessionStore } from 'express-session';
import { StoreUnavailableError, type Store } from './store.js';
import { isConnectionError } from '../util/connection-error.js';

/** Default prefix put before every key, so proxy entries never collide with browser sessions in the same store. */
export const DEFAULT_ADAPTER_PREFIX = 'mcp-oauth:';
const PING_KEY = '__ping__';
/** While unavailable, the adapter pings the wrapped store this often, so `available` comes back without other traffic. */
export const ADAPTER_PROBE_INTERVAL_MS = 1_000;

/** Options for {@link fromExpressSessionStore}. */
export interface FromExpressSessionStoreOptions {
  /** Put before every key. Default `'mcp-oauth:'`. */
  prefix?: string;
}

/** What is stored per key: an express-session-shaped object, so the wrapped store applies the TTL itself. */
interface Wrapped {
  cookie: { expires: Date | string; originalMaxAge: number; maxAge?: number };
  v: string;
}

class ExpressSessionStoreAdapter implements Store {
  readonly atomic = false;
  readonly #store: SessionStore;
  readonly #prefix: string;
  readonly #chains = new Map<string, Promise<void>>();
  #available = true;
  #probe: NodeJS.Timeout | undefined;

  constructor(store: SessionStore, prefix: string) {
    this.#store = store;
    this.#prefix = prefix;
  }

  get available(): boolean {
    return this.#available;
  }

  get(key: string): Promise<string | undefined> {
    return this.#serial(key, () => this.#read(key));
  }

  set(key: string, value: string, ttlMs: number): Promise<void> {
    return this.#serial(key, () => this.#write(key, value, ttlMs));
  }

  add(key: string, value: string, ttlMs: number): Promise<boolean> {
    return this.#serial(key, async () => {
      if ((await this.#read(key)) !== undefined) return false;
      await this.#write(key, value, ttlMs);
      return true;
    });
  }

  take(key: string): Promise<string | undefined> {
    return this.#serial(key, async () => {
      const value = await this.#read(key);
      if (value !== undefined) await this.#destroy(key);
      return value;
    });
  }

  delete(key: string): Promise<void> {
    return this.#serial(key, () => this.#destroy(key));
  }

  deleteIf(key: string, value: string): Promise<boolean> {
    return this.#serial(key, async () => {
      if ((await this.#read(key)) !== value) return false;
      await this.#destroy(key);
      return true;
    });
  }

  renewIf(key: string, value: string, ttlMs: number): Promise<boolean> {
    return this.#serial(key, async () => {
      if ((await this.#read(key)) !== value) return false;
      await this.#write(key, value, ttlMs);
      return true;
    });
  }

  async ping(): Promise<void> {
    await this.#call<unknown>((cb) => this.#store.get(this.#prefix + PING_KEY, cb));
  }

  /** Stops the recovery probe. Never closes the wrapped store. */
  async close(): Promise<void> {
    clearTimeout(this.#probe);
    this.#probe = undefined;
  }

  /**
   * `requireSession()` answers 503 without touching the store while `available`
   * is false, so nothing else would ever find out that the backend is back:
   * ping it in the background until it answers.
   */
  #markUnavailable(): void {
    this.#available = false;
    if (this.#probe) return;
    this.#probe = setTimeout(() => {
      this.#probe = undefined;
      void this.ping()
        .catch(noop)
        .then(() => {
          if (!this.#available) this.#markUnavailable();
        });
    }, ADAPTER_PROBE_INTERVAL_MS);
    this.#probe.unref();
  }

  async #read(key: string): Promise<string | undefined> {
    const data = (await this.#call<SessionData | null | undefined>((cb) => this.#store.get(this.#prefix + key, cb))) as
      Partial<Wrapped> | null | undefined;
    if (!data || typeof data.v !== 'string') return undefined;
    const expires = data.cookie?.expires === undefined ? Number.NaN : new Date(data.cookie.expires).getTime();
    return expires > Date.now() ? data.v : undefined; // the wrapped store's TTL may be coarser (connect-redis: seconds)
  }

  #write(key: string, value: string, ttlMs: number): Promise<void> {
    if (typeof value !== 'string') return Promise.reject(new TypeError('"value" must be a string'));
    if (!Number.isFinite(ttlMs) || ttlMs <= 0) return Promise.reject(new TypeError('"ttlMs" must be a positive number'));
    const wrapped: Wrapped = { cookie: { expires: new Date(Date.now() + ttlMs), originalMaxAge: ttlMs, maxAge: ttlMs }, v: value };
    return this.#call<unknown>((cb) => this.#store.set(this.#prefix + key, wrapped as unknown as SessionData, cb)).then(noop);
  }

  #destroy(key: string): Promise<void> {
    return this.#call<unknown>((cb) => this.#store.destroy(this.#prefix + key, cb)).then(noop);
  }

  /** Calls a callback-style store method; maps its failure to StoreUnavailableError and tracks `available`. */
  #call<T>(fn: (cb: (err?: unknown, data?: T) => void) => unknown): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const done = (err?: unknown, data?: T) => {
        if (err) {
          if (isConnectionError(err)) this.#markUnavailable();
          reject(
            err instanceof StoreUnavailableError ? err : new StoreUnavailableError('The wrapped session store failed', { cause: err }),
          );
        } else {
          this.#available = true;
          resolve(data as T);
        }
      };
      try {
        const result = fn(done);
        // Promise-returning stores (connect-redis 9) also call back; only a rejection nobody reported matters.
        if (result instanceof Promise) result.catch(done);
      } catch (err) {
        done(err);
      }
    });
  }

  /** Runs operations on one key one after another (in this process only). */
  #serial<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.#chains.get(key);
    const run = previous ? previous.then(fn) : fn();
    const tail = run.then(noop, noop);
    this.#chains.set(key, tail);
    void tail.then(() => {
      if (this.#chains.get(key) === tail) this.#chains.delete(key);
    });
    return run;
  }
}

const noop = () => {};

/**
 * Wraps any express-session store (connect-redis, connect-pg-simple,
 * memorystore, …) as a {@link Store}. Each value is kept as a session-shaped
 * object `{ cookie: { expires, originalMaxAge }, v }`, so the wrapped store
 * expires it by itself; reads also check `expires` to the millisecond.
 *
 * **What it cannot guarantee.** An express-session store has only get, set and
 * destroy, so `take`, `add`, `deleteIf` and `renewIf` are read-then-write. They
 * are serialized per key inside this process, which makes single-use codes and
 * locks safe for ONE proxy instance only: two processes sharing the backend can
 * both take the same code or both hold the same lock. `atomic` is therefore
 * `false`. Use `RedisStore` (or a store with native atomic operations) to run
 * several instances. There is no publish/subscribe.
 *
 * `available` turns `false` when an operation failed with a connection-type
 * error and back to `true` on the next success; while it is `false` the
 * adapter pings the wrapped store every second (`close()` stops that), since
 * `requireSession()` sends no traffic to an unavailable store. Every error of the wrapped
 * store rejects as `StoreUnavailableError`. A store whose client queues
 * commands while offline (node-redis) makes operations wait; create such a
 * client with `disableOfflineQueue: true`.
 *
 * @example
 * ```ts
 * import connectPgSimple from 'connect-pg-simple';
 * import session from 'express-session';
 * import { fromExpressSessionStore } from 'mcp-oauth-proxy';
 * const PgStore = connectPgSimple(session);
 * const store = fromExpressSessionStore(new PgStore({ pool }), { prefix: 'oauth:' });
 * ```
 */
export function fromExpressSessionStore(sessionStore: SessionStore, options: FromExpressSessionStoreOptions = {}): Store {
  if (
    sessionStore === null ||
    typeof sessionStore !== 'object' ||
    typeof sessionStore.get !== 'function' ||
    typeof sessionStore.set !== 'function' ||
    typeof sessionStore.destroy !== 'function'
  ) {
    throw new TypeError('"sessionStore" must be an express-session store (get, set, destroy)');
  }
  if (options === null || typeof options !== 'object') throw new TypeError('"options" must be an object');
  const { prefix = DEFAULT_ADAPTER_PREFIX } = options;
  if (typeof prefix !== 'string') throw new TypeError('"options.prefix" must be a string');
  return new ExpressSessionStoreAdapter(sessionStore, prefix);
}
