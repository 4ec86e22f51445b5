import { RedisStore as ConnectRedisStore } from 'connect-redis';
import type { SessionData } from 'express-session';
import { StoreUnavailableError } from './store.js';
import { toStoreError, type Commands } from './redis-support.js';

/** A connect-redis store that rejects at once while Redis is not ready and reports outages as StoreUnavailableError. */
export class GuardedSessionStore extends ConnectRedisStore {
  readonly #ready: () => boolean;
  constructor(client: Commands, prefix: string, ready: () => boolean) {
    super({ client, prefix });
    this.#ready = ready;
  }
  override get(sid: string, cb?: Callback) {
    return this.#guard(cb, (done) => super.get(sid, done));
  }
  override set(sid: string, sess: SessionData, cb?: Callback) {
    return this.#guard(cb, (done) => super.set(sid, sess, done));
  }
  override touch(sid: string, sess: SessionData, cb?: Callback) {
    return this.#guard(cb, (done) => super.touch(sid, sess, done));
  }
  override destroy(sid: string, cb?: Callback) {
    return this.#guard(cb, (done) => super.destroy(sid, done));
  }
  async #guard(cb: Callback | undefined, fn: (done: Callback) => Promise<unknown>): Promise<unknown> {
    let failure: unknown;
    const done: Callback = (err, data) => ((failure = err && toStoreError(err, 'session')), cb ? cb(failure ?? null, data) : data);
    const result = this.#ready() ? await fn(done) : done(new StoreUnavailableError('Redis is not ready (session not read or written)'));
    if (failure && !cb) throw failure;
    return result;
  }
}
type Callback = (err?: any, data?: any) => unknown; // eslint-disable-line @typescript-eslint/no-explicit-any
