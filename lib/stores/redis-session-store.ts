import { RedisStore as ConnectRedisStore } from 'connect-redis';
import type { SessionData } from 'express-session';
import { StoreUnavailableError } from './store.js';
import { toStoreError, type Commands, type RunCommand } from './redis-support.js';

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
/**
 * What connect-redis calls, through RedisStore's `run`: the same readiness, timeout and stall rules as the proxy's own
 * commands. Only the scan used by `all()`/`clear()` and the cluster's node lookup go to the client directly.
 */
export function sessionCommands(client: unknown, cluster: boolean, run: RunCommand): Commands {
  const c = client as Commands & { scanIterator(o: object): unknown; nodeClient(m: unknown): unknown; masters?: unknown };
  const commands = {
    get: (key: string) => run('session GET', () => c.get(key)),
    set: (key: string, value: string, options: object) => run('session SET', () => c.set(key, value, options)),
    expire: (key: string, seconds: number) => run('session EXPIRE', () => c.expire(key, seconds)),
    del: (key: string) => run('session DEL', () => c.del(key)),
    mGet: (keys: string[]) => run('session MGET', () => c.mGet(keys)),
    scanIterator: (options: object) => c.scanIterator(options),
    nodeClient: (master: unknown) => c.nodeClient(master),
  };
  // connect-redis tells a cluster by `'masters' in client`.
  if (cluster) Object.defineProperty(commands, 'masters', { get: () => c.masters, enumerable: true });
  return commands as unknown as Commands;
}

type Callback = (err?: any, data?: any) => unknown; // eslint-disable-line @typescript-eslint/no-explicit-any
