/**
 * A template for your own `Store` adapter. A Map stands in for a database
 * table `kv(key text primary key, value text, expires_at bigint)`; each method
 * says in a comment which single statement a real database runs, because that
 * is what makes it atomic across processes. Check your adapter with the
 * contract suite: `runStoreContractTests` from `mcp-oauth-proxy/testing`
 * (see __tests__/stores/custom-store-example.test.ts).
 *
 * The rules every adapter keeps:
 * - values are opaque strings (the proxy hashes and encrypts before it calls you);
 * - every write has a TTL; an expired row counts as absent everywhere;
 * - `take`, `add`, `deleteIf`, `renewIf` are ONE atomic statement each, or `atomic` is `false`;
 * - when the backend cannot be reached, reject with `StoreUnavailableError` and delete nothing;
 * - `available` is synchronous (no I/O): `requireSession()` reads it on every request.
 */
import { StoreUnavailableError, type Store } from '../lib/index.js';

interface Row {
  value: string;
  expiresAt: number;
}

export class ExampleDatabaseStore implements Store {
  /** `true` only because each operation below is a single atomic statement in the database. */
  readonly atomic = true;
  readonly #rows = new Map<string, Row>(); // ← your connection pool instead
  #connected = true; // ← track your pool's 'connect' / 'error' events instead

  get available(): boolean {
    return this.#connected;
  }

  /** For the demo and tests only: pretend the database went away or came back. */
  setConnected(connected: boolean): void {
    this.#connected = connected;
  }

  // SELECT value FROM kv WHERE key = $1 AND expires_at > $now
  get(key: string): Promise<string | undefined> {
    return this.#run(() => this.#live(key)?.value);
  }

  // INSERT INTO kv VALUES ($1, $2, $now + $ttl) ON CONFLICT (key) DO UPDATE SET value = $2, expires_at = $now + $ttl
  set(key: string, value: string, ttlMs: number): Promise<void> {
    return this.#run(() => {
      this.#rows.set(key, { value, expiresAt: Date.now() + positive(ttlMs) });
    });
  }

  // INSERT … ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at
  //   WHERE kv.expires_at <= $now RETURNING 1        → true when a row came back
  add(key: string, value: string, ttlMs: number): Promise<boolean> {
    return this.#run(() => {
      if (this.#live(key)) return false;
      this.#rows.set(key, { value, expiresAt: Date.now() + positive(ttlMs) });
      return true;
    });
  }

  // DELETE FROM kv WHERE key = $1 RETURNING value, expires_at   (single-use codes: never SELECT then DELETE)
  take(key: string): Promise<string | undefined> {
    return this.#run(() => {
      const row = this.#live(key);
      this.#rows.delete(key);
      return row?.value;
    });
  }

  // DELETE FROM kv WHERE key = $1
  delete(key: string): Promise<void> {
    return this.#run(() => {
      this.#rows.delete(key);
    });
  }

  // DELETE FROM kv WHERE key = $1 AND value = $2 AND expires_at > $now   (lock release by its owner)
  deleteIf(key: string, value: string): Promise<boolean> {
    return this.#run(() => this.#live(key)?.value === value && this.#rows.delete(key));
  }

  // UPDATE kv SET expires_at = $now + $ttl WHERE key = $1 AND value = $2 AND expires_at > $now   (lock renewal)
  renewIf(key: string, value: string, ttlMs: number): Promise<boolean> {
    return this.#run(() => {
      const row = this.#live(key);
      if (row?.value !== value) return false;
      row.expiresAt = Date.now() + positive(ttlMs);
      return true;
    });
  }

  // SELECT 1   (used by oauth.ready())
  ping(): Promise<void> {
    return this.#run(() => undefined);
  }

  // Run `DELETE FROM kv WHERE expires_at <= $now` from a timer, so expired rows do not pile up.
  sweep(): void {
    const now = Date.now();
    for (const [key, row] of this.#rows) if (row.expiresAt <= now) this.#rows.delete(key);
  }

  #live(key: string): Row | undefined {
    const row = this.#rows.get(key);
    return row && row.expiresAt > Date.now() ? row : undefined;
  }

  /** One place for the outage rule: a connection failure rejects with StoreUnavailableError and changes nothing. */
  async #run<T>(statement: () => T): Promise<T> {
    if (!this.#connected) throw new StoreUnavailableError('The example database is not connected');
    try {
      return statement(); // ← `await pool.query(…)`
    } catch (err) {
      if (err instanceof TypeError) throw err; // a caller bug, not an outage
      throw new StoreUnavailableError('The example database failed', { cause: err });
    }
  }
}

function positive(ttlMs: number): number {
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw new TypeError('"ttlMs" must be a positive number');
  return ttlMs;
}
