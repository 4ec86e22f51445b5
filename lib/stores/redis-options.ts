import type { Logger } from '../logger.js';

/** Default prefix put before every key and channel. */
export const DEFAULT_REDIS_PREFIX = 'mcp-oauth:';
/** Default time a command may wait (queued or in flight) before it rejects with `StoreUnavailableError`. */
export const DEFAULT_REDIS_COMMAND_TIMEOUT_MS = 5_000;
/** Appended to the prefix for browser sessions kept by {@link RedisStore.sessionStore}. */
export const REDIS_SESSION_PREFIX = 'bsess:';

/**
 * A node-redis 5 or 6 client (`createClient`) or cluster client (`createCluster`),
 * typed structurally: their generic types (modules, scripts, RESP) do not unify.
 */
export interface RedisClientOrCluster {
  readonly isOpen: boolean;
  duplicate(): unknown;
  withCommandOptions(options: object): unknown;
}

/**
 * Options for {@link RedisStore}.
 *
 * @example
 * ```ts
 * new RedisStore({ client, prefix: 'mcp-oauth:', commandTimeoutMs: 2_000 });
 * ```
 */
export interface RedisStoreOptions {
  /** A node-redis 5 or 6 client or cluster client. The store never connects, closes or destroys it. */
  client: RedisClientOrCluster;
  /** Put before every key and channel; must not contain `{` or `}` (Redis Cluster hash tags). Default `'mcp-oauth:'`. */
  prefix?: string;
  /**
   * Milliseconds a command may go unanswered before it rejects with
   * `StoreUnavailableError`; the store then sends nothing more until Redis
   * answers again. Default `5_000`.
   */
  commandTimeoutMs?: number;
  /** Receives subscriber connection errors. Default: the console. */
  logger?: Logger;
}
