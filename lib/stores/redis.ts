import type { Store as SessionStore } from 'express-session';
import type { RedisClientType, RedisClusterType } from 'redis';
import { resolveLogger } from '../logger.js';
import { StoreUnavailableError, type Store } from './store.js';
import { withTimeout } from '../util/timeout.js';
import {
  DEFAULT_REDIS_COMMAND_TIMEOUT_MS,
  DEFAULT_REDIS_PREFIX,
  REDIS_SESSION_PREFIX,
  type RedisClientOrCluster,
  type RedisStoreOptions,
} from './redis-options.js';

export * from './redis-options.js';
import { DELETE_IF, INCREMENT, RENEW_IF, toStoreError, ttl, type Commands, type Listener, type RunCommand } from './redis-support.js';
import { RedisSubscriptions } from './redis-pubsub.js';
import { GuardedSessionStore, sessionCommands } from './redis-session-store.js';

/**
 * A {@link Store} on Redis through node-redis 5 or 6, for several proxy instances.
 * `take` is `GETDEL`, `add` is `SET NX PX`, `deleteIf`/`renewIf` are one-key Lua
 * scripts, so all four are atomic across processes (and on Redis Cluster).
 * Every key is written with a TTL.
 *
 * Pass a connected client; the store never creates, connects or closes it, and
 * node-redis reconnects it by itself. While the client is not ready, operations
 * reject at once with {@link StoreUnavailableError} (never wait in node-redis'
 * offline queue); a command without an answer rejects after `commandTimeoutMs`.
 *
 * @example
 * ```ts
 * import { createClient } from 'redis';
 * import { RedisStore } from 'mcp-oauth-proxy';
 * const client = createClient({ url: process.env.REDIS_URL });
 * client.on('error', (err) => console.error(err)); // node-redis requires an error listener
 * await client.connect();
 * const store = new RedisStore({ client });
 * ```
 */
export class RedisStore implements Store {
  readonly atomic = true;
  readonly #client: RedisClientOrCluster;
  readonly #cmd: Commands;
  /** A command went unanswered for `commandTimeoutMs`; cleared by the next command that settles. See {@link #run}. */
  #stalled = false;
  readonly #cluster: boolean;
  readonly #prefix: string;
  readonly #timeoutMs: number;
  readonly #pubsub: RedisSubscriptions;
  /** {@link #run}, for the pub/sub and browser-session parts. */
  readonly #runCommand: RunCommand = (command, fn) => this.#run(command, fn);
  readonly #sessionStores = new Map<string, SessionStore>();

  constructor(options: RedisStoreOptions) {
    if (options === null || typeof options !== 'object') throw new TypeError('"options" must be an object');
    const { client, prefix = DEFAULT_REDIS_PREFIX, commandTimeoutMs = DEFAULT_REDIS_COMMAND_TIMEOUT_MS, logger } = options;
    const isClient =
      typeof client === 'object' &&
      client !== null &&
      typeof client.duplicate === 'function' &&
      typeof client.withCommandOptions === 'function';
    if (!isClient) throw new TypeError('"options.client" must be a node-redis 5 or 6 client or cluster client');
    if (typeof prefix !== 'string' || /[{}]/.test(prefix)) throw new TypeError('"options.prefix" must be a string without "{" or "}"');
    if (!Number.isFinite(commandTimeoutMs) || commandTimeoutMs <= 0)
      throw new TypeError('"options.commandTimeoutMs" must be a positive number');
    this.#client = client;
    this.#cluster = 'masters' in client;
    this.#prefix = prefix;
    this.#timeoutMs = commandTimeoutMs;
    this.#cmd = client as unknown as Commands;
    this.#pubsub = new RedisSubscriptions(client, this.#cluster, resolveLogger(logger), this.#runCommand);
  }

  /** `isReady` of the client; for a cluster, open and every connected master ready. Synchronous, no I/O. */
  get available(): boolean {
    if (!this.#cluster) return (this.#client as unknown as RedisClientType).isReady;
    const cluster = this.#client as unknown as RedisClusterType;
    return cluster.isOpen && cluster.masters.every((node) => node.client === undefined || node.client.isReady);
  }

  get(key: string): Promise<string | undefined> {
    return this.#run('GET', async (c) => (await c.get(this.#prefix + key)) ?? undefined);
  }
  set(key: string, value: string, ttlMs: number): Promise<void> {
    return this.#run('SET', async (c) => {
      await c.set(this.#prefix + key, value, { expiration: { type: 'PX', value: ttl(ttlMs) } });
    });
  }
  add(key: string, value: string, ttlMs: number): Promise<boolean> {
    return this.#run(
      'SET NX',
      async (c) => (await c.set(this.#prefix + key, value, { expiration: { type: 'PX', value: ttl(ttlMs) }, condition: 'NX' })) === 'OK',
    );
  }
  take(key: string): Promise<string | undefined> {
    return this.#run('GETDEL', async (c) => (await c.getDel(this.#prefix + key)) ?? undefined);
  }
  delete(key: string): Promise<void> {
    return this.#run('DEL', async (c) => {
      await c.del(this.#prefix + key);
    });
  }
  deleteIf(key: string, value: string): Promise<boolean> {
    return this.#run(
      'EVAL deleteIf',
      async (c) => Number(await c.eval(DELETE_IF, { keys: [this.#prefix + key], arguments: [value] })) === 1,
    );
  }
  renewIf(key: string, value: string, ttlMs: number): Promise<boolean> {
    return this.#run(
      'EVAL renewIf',
      async (c) => Number(await c.eval(RENEW_IF, { keys: [this.#prefix + key], arguments: [value, String(ttl(ttlMs))] })) === 1,
    );
  }

  /** `INCR`, and `PEXPIRE` when the counter is new, in one script; returns the count and `PTTL`. */
  increment(key: string, ttlMs: number): Promise<{ count: number; ttlMs: number }> {
    return this.#run('EVAL increment', async (c) => {
      const [count, left] = (await c.eval(INCREMENT, { keys: [this.#prefix + key], arguments: [String(ttl(ttlMs))] })) as [number, number];
      return { count: Number(count), ttlMs: Number(left) > 0 ? Number(left) : ttlMs };
    });
  }

  /** `PING`; on a cluster, every master. */
  ping(): Promise<void> {
    const cluster = this.#client as unknown as RedisClusterType;
    return this.#run('PING', async (c) => {
      await Promise.all(this.#cluster ? cluster.masters.map(async (node) => (await cluster.nodeClient(node)).ping()) : [c.ping()]);
    });
  }

  publish(channel: string, message: string): Promise<void> {
    return this.#run('PUBLISH', async (c) => {
      await c.publish(this.#prefix + channel, message);
    });
  }

  /** Listeners get each message published on `channel` by any instance; see `RedisSubscriptions` (`redis-pubsub.ts`). */
  subscribe(channel: string, listener: Listener): Promise<() => Promise<void>> {
    if (typeof listener !== 'function') return Promise.reject(new TypeError('"listener" must be a function'));
    return this.#pubsub.subscribe(this.#prefix + channel, listener);
  }

  /** A connect-redis store over the same client, keys prefixed `${prefix}${namespace}bsess:`, with the same fail-fast rules. */
  sessionStore(namespace = ''): SessionStore {
    if (/[{}]/.test(namespace)) throw new TypeError('"namespace" must not contain "{" or "}"');
    let store = this.#sessionStores.get(namespace);
    if (store === undefined) {
      store = new GuardedSessionStore(
        sessionCommands(this.#client, this.#cluster, this.#runCommand),
        this.#prefix + namespace + REDIS_SESSION_PREFIX,
        () => this.available,
      );
      this.#sessionStores.set(namespace, store);
    }
    return store;
  }

  /** Unsubscribes this store's listeners and closes the subscriber it duplicated. Never closes the given client. */
  close(): Promise<void> {
    return this.#pubsub.close();
  }

  /**
   * Every command runs here. node-redis queues commands while disconnected, or
   * while a frozen server leaves the socket full, and sends them later, so a
   * caller could hang, or a "failed" write could land later. Hence:
   * 1. nothing is sent while the client is not ready: reject at once;
   * 2. our own timer rejects a command without an answer after `commandTimeoutMs`;
   * 3. from then on the store is *stalled*: nothing more is sent (reject at
   *    once) until a command in flight settles, i.e. the server answers again
   *    or node-redis gives the socket up. So a frozen Redis costs each caller
   *    at most one timeout, and node-redis' queue does not grow behind it.
   *
   * A command that timed out is not recalled: it may still run when the server
   * wakes, as a command already on the wire would anyway. We do not use
   * node-redis' own `timeout` or `abortSignal` command options to pull queued
   * commands back: in @redis/client before 6.2.0, removing two or more queued
   * commands corrupts its write queue (redis/node-redis#3320) and the client
   * never sends again; and `timeout` costs an `AbortSignal.timeout()` per
   * command, about 12 µs of CPU here, more than the `GET` itself.
   */
  async #run<T>(command: string, fn: (c: Commands) => Promise<T>): Promise<T> {
    if (!this.available) throw new StoreUnavailableError(`Redis is not ready (${command} not sent)`);
    if (this.#stalled) throw new StoreUnavailableError(`Redis is not answering (${command} not sent)`);
    let sent: Promise<T>;
    try {
      sent = fn(this.#cmd);
    } catch (err) {
      throw toStoreError(err, command);
    }
    const answered = sent.finally(() => {
      this.#stalled = false;
    });
    try {
      return await withTimeout(answered, this.#timeoutMs, () => {
        this.#stalled = true;
        return new StoreUnavailableError(`Redis ${command} got no answer within ${this.#timeoutMs} ms`);
      });
    } catch (err) {
      throw toStoreError(err, command);
    }
  }
}
