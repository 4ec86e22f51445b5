import type { Store } from '../stores/store.js';
import { SESSION_ENDED_CHANNEL } from '../stores/keys.js';
import type { ResolvedLogger } from '../logger.js';
import { describeError } from '../logger.js';

/**
 * Internal: the per-process set of ended grants (sessions) that `requireSession()`
 * consults on every request (a Map lookup, no I/O). Filled by this process's own
 * revocations and, when the store has pub/sub, by every other instance's. An
 * entry lives as long as an access token can (after that the token has expired
 * anyway), so the set stays small.
 */
export class EndedGrants {
  readonly #ended = new Map<string, number>();
  readonly #store: Store;
  readonly #clock: () => number;
  readonly #ttlMs: number;
  readonly #logger: ResolvedLogger;
  readonly #listeners = new Set<(sid: string) => void>();
  #unsubscribe: (() => Promise<void>) | undefined;
  #subscribing: Promise<void> | undefined;

  constructor(store: Store, clock: () => number, ttlMs: number, logger: ResolvedLogger) {
    this.#store = store;
    this.#clock = clock;
    this.#ttlMs = ttlMs;
    this.#logger = logger;
  }

  /** Subscribes to other instances' revocations (once; failures are logged and retried on the next call). */
  start(): Promise<void> {
    if (!this.#store.subscribe || this.#unsubscribe) return Promise.resolve();
    this.#subscribing ??= this.#store
      .subscribe(SESSION_ENDED_CHANNEL, (sid) => this.#mark(sid))
      .then((unsub) => {
        this.#unsubscribe = unsub;
      })
      .catch((err: unknown) => {
        this.#subscribing = undefined;
        this.#logger.warn(
          { err: describeError(err) },
          'could not subscribe to session revocations; other instances may accept ended sessions until their tokens expire',
        );
      });
    return this.#subscribing;
  }

  has(sid: string): boolean {
    const until = this.#ended.get(sid);
    if (until === undefined) return false;
    if (until > this.#clock()) return true;
    this.#ended.delete(sid);
    return false;
  }

  /** Marks a session ended here and tells the other instances. */
  async end(sid: string): Promise<void> {
    this.#mark(sid);
    if (this.#store.publish) {
      try {
        await this.#store.publish(SESSION_ENDED_CHANNEL, sid);
      } catch (err) {
        this.#logger.warn({ err: describeError(err) }, 'could not broadcast a session revocation');
      }
    }
  }

  /** Called whenever a session is marked ended (to drop cached verifications). */
  onEnded(listener: (sid: string) => void): void {
    this.#listeners.add(listener);
  }

  async close(): Promise<void> {
    const u = this.#unsubscribe;
    this.#unsubscribe = undefined;
    if (u) await u().catch(() => {});
  }

  #mark(sid: string): void {
    const now = this.#clock();
    if (this.#ended.size > 10_000) for (const [k, until] of this.#ended) if (until <= now) this.#ended.delete(k);
    this.#ended.set(sid, now + this.#ttlMs);
    for (const l of this.#listeners) l(sid);
  }
}
