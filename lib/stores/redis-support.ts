import { StoreUnavailableError } from './store.js';

// Internal: the Lua scripts, command typing and error classification that RedisStore and its browser-session store share.

// Compare-and-delete and compare-and-pexpire: one key each, so they also run on Redis Cluster.
export const DELETE_IF = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";
// A fixed window: the TTL is set when the counter is created (or has somehow lost it), never extended.
export const INCREMENT =
  "local n = redis.call('INCR', KEYS[1]) local t = redis.call('PTTL', KEYS[1]) if t < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) t = tonumber(ARGV[1]) end return {n, t}";
export const RENEW_IF = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0";
// Error replies that mean "the server cannot serve now", not "the command is wrong".
const UNAVAILABLE_REPLY = /^(CLUSTERDOWN|LOADING|MASTERDOWN|TRYAGAIN|BUSY|READONLY|NOREPLICAS)\b/;

/** The few commands the store issues, typed loosely so one code path serves clients and clusters. */
export interface Commands {
  get(key: string): Promise<string | null>;
  expire(key: string, seconds: number): Promise<number>;
  mGet(keys: string[]): Promise<Array<string | null>>;
  set(key: string, value: string, options: object): Promise<string | null>;
  getDel(key: string): Promise<string | null>;
  del(key: string): Promise<number>;
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
  publish(channel: string, message: string): Promise<number>;
  ping(): Promise<string>;
}
export type Listener = (message: string) => void;
/** RedisStore's guarded command runner (readiness, timeout, stall), handed to its pub/sub and browser-session parts. */
export type RunCommand = <T>(command: string, fn: (c: Commands) => Promise<T>) => Promise<T>;
export type Subscriber = Record<'subscribe' | 'unsubscribe', (channel: string, listener: Listener) => Promise<void>> & {
  close?(): Promise<void>;
  destroy?(): void;
};

export function ttl(ttlMs: number): number {
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw new TypeError('"ttlMs" must be a positive number');
  return Math.ceil(ttlMs);
}

export function toStoreError(err: unknown, command: string): unknown {
  if (err instanceof StoreUnavailableError || err instanceof TypeError) return err;
  const isReply = err instanceof Error && /^(ErrorReply|SimpleError|BlobError)$/.test(err.constructor.name);
  if (isReply && !UNAVAILABLE_REPLY.test(err.message)) return err; // a real command error, not an outage
  return new StoreUnavailableError(`Redis ${command} failed`, { cause: err });
}
