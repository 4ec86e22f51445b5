import { setTimeout as sleep } from 'node:timers/promises';
import type { Store } from '../stores/store.js';
import { StoreUnavailableError } from '../stores/store.js';
import { keys } from '../stores/keys.js';
import type { Vault, UpstreamTokenSet } from '../vault/vault.js';
import { UpstreamGrantInvalid } from '../upstream/provider.js';
import type { UpstreamRegistry } from '../upstream/registry.js';
import type { Grants } from './grants.js';
import { UpstreamUnavailableError } from '../errors.js';
import { randomToken, type RandomBytes } from '../crypto.js';
import { SingleFlight } from '../util/single-flight.js';
import type { ResolvedLogger } from '../logger.js';
import { describeError } from '../logger.js';

/** Lease of the cross-instance refresh lock; renewed every third of it while the refresh runs. */
export const REFRESH_LOCK_TTL_MS = 10_000;
/** How long a request waits for another instance's refresh before giving up (retryable). */
export const REFRESH_WAIT_MS = 20_000;

interface BrokerDeps {
  store: Store;
  vault: Vault;
  grants: Grants;
  upstreams: UpstreamRegistry;
  clock: () => number;
  random: RandomBytes;
  /** Refresh settings, or per provider (local mode: each app's own). */
  refresh: RefreshSettings | ((providerId: string) => RefreshSettings);
  logger: ResolvedLogger;
  /** Internal (tests): lease of the refresh lock. Default {@link REFRESH_LOCK_TTL_MS}. */
  lockLeaseMs?: number;
}

interface RefreshSettings {
  enabled: boolean;
  skewSeconds: number;
}

/** Internal: outcome of asking for an upstream token. */
export type TokenResult = { ok: true; token: string } | { ok: false; reason: string };

/**
 * Internal: hands out upstream access tokens, refreshing them on demand.
 *
 * A session refreshes once per expiry however many requests ask at once:
 * requests in this process share one promise (single flight), and processes
 * share a store lock (`add` = SET NX PX with a random owner, released by
 * compare-and-delete, renewed while the upstream call runs so a slow IdP cannot
 * let a second instance in). Whoever gets the lock re-reads the vault first;
 * whoever waits polls the vault until the fresh token appears. The rotated
 * upstream refresh token is saved before the lock is released.
 */
export class TokenBroker {
  readonly #refreshing = new SingleFlight<string, TokenResult>();
  readonly #d: BrokerDeps;

  constructor(d: BrokerDeps) {
    this.#d = d;
  }

  async get(sid: string, providerId: string): Promise<TokenResult> {
    if (!this.#d.upstreams.has(providerId)) {
      throw new TypeError(
        `upstreamTokens: unknown provider id "${providerId}"; configured: ${this.#d.upstreams
          .ids()
          .map((p) => `"${p}"`)
          .join(', ')}`,
      );
    }
    const set = await this.#read(sid, providerId);
    if (!set) return { ok: false, reason: 'no upstream tokens are stored for this session' };
    if (this.#fresh(set, providerId)) return { ok: true, token: set.access_token };
    if (!this.#settings(providerId).enabled || !set.refresh_token) {
      return this.#expired(set)
        ? {
            ok: false,
            reason: set.refresh_token
              ? 'the upstream token expired and refresh is disabled'
              : 'the upstream token expired and the upstream issued no refresh token',
          }
        : { ok: true, token: set.access_token };
    }
    return this.#refreshing.run(`${sid}\u0000${providerId}`, () => this.#refreshLocked(sid, providerId));
  }

  /** The claims of an app's sign-in (local mode), from its vault record; `undefined` when it has none. */
  async claims(sid: string, providerId: string): Promise<Record<string, unknown> | undefined> {
    const set = (await this.#read(sid, providerId)) as { claims?: Record<string, unknown> } | undefined;
    return set?.claims;
  }

  #settings(providerId: string): RefreshSettings {
    const r = this.#d.refresh;
    return typeof r === 'function' ? r(providerId) : r;
  }

  #fresh(set: UpstreamTokenSet, providerId: string): boolean {
    return set.expires_at === undefined || set.expires_at * 1000 - this.#d.clock() > this.#settings(providerId).skewSeconds * 1000;
  }

  #expired(set: UpstreamTokenSet): boolean {
    return set.expires_at !== undefined && set.expires_at * 1000 <= this.#d.clock();
  }

  async #read(sid: string, providerId: string): Promise<UpstreamTokenSet | undefined> {
    try {
      return await this.#d.vault.get(sid, providerId);
    } catch (err) {
      throw unavailable(providerId, err);
    }
  }

  async #refreshLocked(sid: string, providerId: string): Promise<TokenResult> {
    const { store } = this.#d;
    const lockKey = keys.refreshLock(sid, providerId);
    const lease = this.#d.lockLeaseMs ?? REFRESH_LOCK_TTL_MS;
    const owner = randomToken(this.#d.random, '', 16);
    const deadline = Date.now() + REFRESH_WAIT_MS;
    for (let delay = 20; ; delay = Math.min(delay * 2, 250)) {
      if (
        await store.add(lockKey, owner, lease).catch((e: unknown) => {
          throw unavailable(providerId, e);
        })
      )
        break;
      await sleep(delay);
      const set = await this.#read(sid, providerId);
      if (!set) return { ok: false, reason: 'the session ended while waiting for a refresh' };
      if (this.#fresh(set, providerId)) return { ok: true, token: set.access_token };
      if (Date.now() > deadline)
        throw new UpstreamUnavailableError(providerId, 'Timed out waiting for another instance to refresh the upstream token; retry');
    }
    const renew = setInterval(() => {
      store.renewIf(lockKey, owner, lease).catch(() => {});
    }, lease / 3);
    renew.unref();
    try {
      const set = await this.#read(sid, providerId);
      if (!set) return { ok: false, reason: 'the session ended' };
      if (this.#fresh(set, providerId) || !set.refresh_token) return { ok: true, token: set.access_token };
      let next: UpstreamTokenSet;
      try {
        next = await this.#d.upstreams.get(providerId)!.refresh(set.refresh_token);
      } catch (err) {
        if (err instanceof UpstreamGrantInvalid) {
          await this.#d.vault.delete(sid, providerId).catch((e: unknown) => {
            throw unavailable(providerId, e);
          });
          this.#d.logger.info({ sid, provider: providerId }, 'upstream refused the refresh token (invalid_grant); its tokens were removed');
          return { ok: false, reason: 'the upstream refused the refresh token (invalid_grant)' };
        }
        this.#d.logger.warn({ sid, provider: providerId, err: describeError(err) }, 'upstream refresh failed transiently; tokens kept');
        throw new UpstreamUnavailableError(providerId, 'The upstream IdP could not refresh the token right now; nothing was lost, retry', {
          cause: err,
        });
      }
      // The app's sign-in claims (local mode) are kept with its tokens; refresh never changes who signed in.
      const { claims } = set as { claims?: unknown };
      const kept = claims === undefined ? {} : { claims };
      const merged: UpstreamTokenSet = next.refresh_token
        ? { ...kept, ...next }
        : {
            ...kept,
            ...next,
            refresh_token: set.refresh_token,
            ...(set.refresh_expires_at ? { refresh_expires_at: set.refresh_expires_at } : {}),
          };
      try {
        await this.#d.grants.link(sid, providerId, merged);
        // A session ended while the upstream answered must not get its tokens back. end() deletes the
        // session record before it reads and revokes the vault, so either it sees what was just written
        // or this check sees the record gone.
        if (!(await this.#d.grants.exists(sid))) {
          await this.#d.vault.delete(sid, providerId);
          await this.#d.upstreams
            .get(providerId)!
            .revoke(merged.refresh_token ?? merged.access_token, merged.refresh_token ? 'refresh_token' : 'access_token', merged);
          return { ok: false, reason: 'the session ended during the refresh' };
        }
      } catch (err) {
        throw unavailable(providerId, err);
      }
      return { ok: true, token: merged.access_token };
    } finally {
      clearInterval(renew);
      await store.deleteIf(lockKey, owner).catch(() => {});
    }
  }
}

function unavailable(providerId: string, err: unknown): UpstreamUnavailableError {
  if (err instanceof UpstreamUnavailableError) return err;
  const what = err instanceof StoreUnavailableError ? 'The session store is unavailable' : 'Reading the upstream token failed';
  return new UpstreamUnavailableError(providerId, `${what}; nothing was lost, retry`, { cause: err });
}
