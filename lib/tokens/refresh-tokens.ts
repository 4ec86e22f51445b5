import { z } from 'zod';
import type { Store } from '../stores/store.js';
import type { ResolvedLogger } from '../logger.js';
import { parseRecord, writeRecord } from '../util/records.js';
import { keys } from '../stores/keys.js';
import { randomToken, sha256, type RandomBytes } from '../crypto.js';
import type { Sealer } from '../vault/seal.js';
import { InvalidGrantError } from '../errors.js';
import type { GrantLifecycle } from './grant-lifecycle.js';

/** Internal: what a refresh token stands for (stored under the token's hash). Version 1 (no `v`: version 1). */
export const refreshRecordSchema = z.object({
  v: z.literal(1).default(1),
  sid: z.string(),
  clientId: z.string(),
  scope: z.string(),
});
export type RefreshRecord = z.output<typeof refreshRecordSchema>;

/** Internal: the sealed rotation claim: the successor token and when it was issued. Version 1. */
const rotationSchema = z.object({ v: z.literal(1).default(1), t: z.string(), at: z.number() });

const PREFIX = 'mop_rt_';

/**
 * Internal: opaque, rotating refresh tokens with reuse detection.
 *
 * Rotation claims the old token with an atomic `add` of its sealed successor,
 * so two parallel refreshes can never start two lineages: the loser reads the
 * winner's successor and, inside the grace window, returns that same token.
 * Presenting a rotated token after the window ends the whole session.
 */
export class RefreshTokens {
  readonly #store: Store;
  readonly #sealer: Sealer;
  readonly #grants: GrantLifecycle;
  readonly #random: RandomBytes;
  readonly #clock: () => number;
  readonly #ttlMs: number;
  readonly #graceMs: number;
  readonly #logger: ResolvedLogger | undefined;

  constructor(d: {
    store: Store;
    sealer: Sealer;
    grants: GrantLifecycle;
    random: RandomBytes;
    clock: () => number;
    ttlSeconds: number;
    graceSeconds: number;
    logger?: ResolvedLogger;
  }) {
    this.#logger = d.logger;
    this.#store = d.store;
    this.#sealer = d.sealer;
    this.#grants = d.grants;
    this.#random = d.random;
    this.#clock = d.clock;
    this.#ttlMs = d.ttlSeconds * 1000;
    this.#graceMs = d.graceSeconds * 1000;
  }

  async issue(record: Omit<RefreshRecord, 'v'>): Promise<string> {
    const token = randomToken(this.#random, PREFIX);
    await this.#store.set(keys.refreshToken(sha256(token)), writeRecord({ v: 1, ...record }), this.#ttlMs);
    return token;
  }

  /** Rotates a refresh token presented by `clientId`; returns the successor and what it stands for. */
  async rotate(token: string, clientId: string): Promise<{ token: string; record: RefreshRecord }> {
    const hash = sha256(token);
    const raw = await this.#store.get(keys.refreshToken(hash));
    const record = parseRecord(refreshRecordSchema, raw, 'refresh token', this.#logger);
    if (raw === undefined || record === undefined) throw new InvalidGrantError('The refresh token is invalid, expired or revoked');
    if (record.clientId !== clientId) throw new InvalidGrantError('The refresh token was not issued to this client');
    if (!(await this.#grants.exists(record.sid))) throw new InvalidGrantError('The session of this refresh token has ended; sign in again');

    const successor = randomToken(this.#random, PREFIX);
    const aad = `rt-next|${hash}`;
    const sealed = this.#sealer.seal(writeRecord({ v: 1, t: successor, at: this.#clock() }), aad);
    if (await this.#store.add(keys.refreshRotated(hash), sealed, this.#ttlMs)) {
      await this.#store.set(keys.refreshToken(sha256(successor)), raw, this.#ttlMs);
      await this.#grants.slide(record.sid);
      return { token: successor, record };
    }

    // Already rotated: a parallel refresh inside the grace window, or reuse.
    const prior = await this.#store.get(keys.refreshRotated(hash));
    const opened = prior === undefined ? undefined : this.#sealer.open(prior, aad);
    const rotation = parseRecord(rotationSchema, opened, 'refresh rotation', this.#logger);
    if (rotation && this.#clock() - rotation.at <= this.#graceMs) {
      const successorUsed = await this.#store.get(keys.refreshRotated(sha256(rotation.t)));
      if (successorUsed === undefined) return { token: rotation.t, record };
    }
    await this.#grants.endQuietly(record.sid, 'refresh token reuse detected');
    throw new InvalidGrantError('The refresh token was already used; the session has been revoked');
  }

  /** Looks a token up without rotating it (revocation). */
  async lookup(token: string): Promise<RefreshRecord | undefined> {
    return parseRecord(refreshRecordSchema, await this.#store.get(keys.refreshToken(sha256(token))), 'refresh token', this.#logger);
  }
}
