import type { RequestHandler, Response } from 'express';
import { rateLimit, type Store as RateLimitStore, type IncrementResponse } from 'express-rate-limit';
import type { EndpointServices } from './services.js';
import type { Store } from '../stores/store.js';
import { keys } from '../stores/keys.js';
import { sha256 } from '../crypto.js';
import { TooManyRequestsError } from '../errors.js';

/** Internal: the collaborators this endpoint uses. */
export type RateLimitDeps = Pick<EndpointServices, 'store' | 'logger'>;

/** A rate limit as the options give it. */
export interface RateLimitSettings {
  windowMs: number;
  limit: number;
}

/** Proxies that already warned that their store has no `increment` (once per proxy). */
const warnedLocal = new WeakSet<object>();

/**
 * express-rate-limit's store contract over the proxy's {@link Store}: one
 * fixed-window counter per client address under `rl:<name>:<hash of the
 * address>`, so every instance on the same store counts together. The address
 * is hashed: a store never holds client IPs in the clear.
 */
class ProxyRateLimitStore implements RateLimitStore {
  readonly localKeys = false;
  readonly #store: Store & { increment: NonNullable<Store['increment']> };
  readonly #name: string;
  #windowMs = 60_000;

  constructor(store: Store & { increment: NonNullable<Store['increment']> }, name: string) {
    this.#store = store;
    this.#name = name;
  }

  init(options: { windowMs: number }): void {
    this.#windowMs = options.windowMs;
  }

  async increment(key: string): Promise<IncrementResponse> {
    const { count, ttlMs } = await this.#store.increment(this.#key(key), this.#windowMs);
    return { totalHits: count, resetTime: new Date(Date.now() + ttlMs) };
  }

  // Fixed windows: a request is never "given back" (skip options are not used), so decrement has nothing to do.
  async decrement(): Promise<void> {}

  async resetKey(key: string): Promise<void> {
    await this.#store.delete(this.#key(key));
  }

  #key(address: string): string {
    return keys.rateLimit(this.#name, sha256(address));
  }
}

/**
 * Internal: a per-client-address rate limit kept in the proxy's store, so that
 * it holds across instances (`name` keeps the limits of different endpoints
 * apart). The address is `req.ip`: behind a reverse proxy, set Express's
 * `trust proxy` to exactly your proxies, and make the app unreachable except
 * through them, or anyone can pick an address with `X-Forwarded-For`. A store
 * without `increment` falls back to counting in this process, with a warning.
 * Over the limit: `respond` gets a `429 too_many_requests` with `Retry-After`.
 */
export function storeRateLimit(
  ctx: RateLimitDeps,
  name: string,
  settings: RateLimitSettings,
  description: string,
  respond: (res: Response, err: TooManyRequestsError) => void,
): RequestHandler {
  const { store } = ctx;
  let limitStore: RateLimitStore | undefined;
  if (typeof store.increment === 'function') {
    limitStore = new ProxyRateLimitStore(store as Store & { increment: NonNullable<Store['increment']> }, name);
  } else if (!warnedLocal.has(ctx)) {
    warnedLocal.add(ctx);
    ctx.logger.warn(
      {},
      'the store has no increment() method, so rate limits (registration, authorize/consent) are counted per process: with several instances each allows the full limit. Use RedisStore or MemoryStore, or add increment() to your store.',
    );
  }
  return rateLimit({
    windowMs: settings.windowMs,
    limit: settings.limit,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    ...(limitStore ? { store: limitStore } : {}),
    handler: (_req, res) => respond(res, new TooManyRequestsError(description, Math.ceil(settings.windowMs / 1000))),
  });
}
