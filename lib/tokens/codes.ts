import { z } from 'zod';
import type { Store } from '../stores/store.js';
import type { ResolvedLogger } from '../logger.js';
import { parseRecord, writeRecord } from '../util/records.js';
import { keys } from '../stores/keys.js';
import { randomToken, safeEqual, sha256, type RandomBytes } from '../crypto.js';
import { InvalidGrantError } from '../errors.js';
import type { GrantLifecycle } from './grant-lifecycle.js';

/** Internal: what a one-time authorization code stands for (stored under the code's hash). Version 1 (no `v`: version 1). */
export const codeRecordSchema = z.object({
  v: z.literal(1).default(1),
  sid: z.string(),
  clientId: z.string(),
  redirectUri: z.string(),
  codeChallenge: z.string(),
  scope: z.string(),
});
export type CodeRecord = z.output<typeof codeRecordSchema>;

/** Internal: what the "used" marker of a redeemed code records (stored under the code's hash). Version 1. */
const usedMarkerSchema = z.object({
  v: z.literal(1).default(1),
  sid: z.string(),
  clientId: z.string(),
  codeChallenge: z.string(),
  /** When the code was redeemed (ms since epoch). */
  at: z.number(),
});
type UsedMarker = z.output<typeof usedMarkerSchema>;

/** Who presents a code at the token endpoint: the authenticated client and the S256 of the verifier it sent. */
export interface CodePresenter {
  clientId: string;
  /** `pkceChallenge(code_verifier)`. */
  challenge: string;
}

/**
 * Internal: one-time authorization codes. A code is consumed with an atomic
 * `take`, and a "used" marker records the session it started, the client and
 * the PKCE challenge. A code presented again (RFC 6749 §4.1.2: the server
 * "should" revoke what it issued) ends that session only when the presenter
 * proves it is the party that redeemed it, i.e. the same client AND a verifier
 * matching the challenge, and only after `retryWindowMs`: within that window a
 * matching replay is a network retry of the legitimate client (50 parallel
 * redemptions must not log the user out) and just gets `invalid_grant`. Another
 * client, or a wrong verifier, gets `invalid_grant` and nothing else happens:
 * a public `client_id` is no secret, so without the verifier anyone could end
 * the victim's session with a used code.
 */
export class Codes {
  readonly #store: Store;
  readonly #grants: GrantLifecycle;
  readonly #random: RandomBytes;
  readonly #ttlMs: number;
  readonly #clock: () => number;
  readonly #retryWindowMs: number;
  readonly #logger: ResolvedLogger | undefined;

  constructor(d: {
    store: Store;
    grants: GrantLifecycle;
    random: RandomBytes;
    ttlSeconds: number;
    clock?: () => number;
    retryWindowMs?: number;
    logger?: ResolvedLogger;
  }) {
    this.#logger = d.logger;
    this.#store = d.store;
    this.#grants = d.grants;
    this.#random = d.random;
    this.#ttlMs = d.ttlSeconds * 1000;
    this.#clock = d.clock ?? Date.now;
    this.#retryWindowMs = d.retryWindowMs ?? 30_000;
  }

  async issue(record: Omit<CodeRecord, 'v'>): Promise<string> {
    const code = randomToken(this.#random, 'mop_code_');
    await this.#store.set(keys.code(sha256(code)), writeRecord({ v: 1, ...record }), this.#ttlMs);
    return code;
  }

  /** Reads a code without consuming it (to check PKCE and the client before the atomic consume). */
  async peek(code: string): Promise<CodeRecord | undefined> {
    return parseRecord(codeRecordSchema, await this.#store.get(keys.code(sha256(code))), 'code', this.#logger);
  }

  /** Consumes a code exactly once; a replay throws `invalid_grant` (and may revoke, see the class). */
  async consume(code: string, presenter?: CodePresenter): Promise<CodeRecord> {
    const hash = sha256(code);
    const raw = await this.#store.take(keys.code(hash));
    if (raw === undefined) return this.#replayed(hash, presenter);
    const record = parseRecord(codeRecordSchema, raw, 'code', this.#logger);
    if (record === undefined) throw new InvalidGrantError('The authorization code is invalid, expired or already used');
    const marker: UsedMarker = { v: 1, sid: record.sid, clientId: record.clientId, codeChallenge: record.codeChallenge, at: this.#clock() };
    await this.#store.set(keys.codeUsed(hash), writeRecord(marker), this.#ttlMs * 10);
    return record;
  }

  async #replayed(hash: string, presenter: CodePresenter | undefined): Promise<never> {
    const raw = await this.#store.get(keys.codeUsed(hash));
    const used = raw === undefined ? undefined : parseMarker(raw);
    const proven = !!used && !!presenter && presenter.clientId === used.clientId && safeEqual(presenter.challenge, used.codeChallenge);
    if (!used || !proven) throw new InvalidGrantError('The authorization code is invalid, expired or already used');
    if (this.#clock() - used.at < this.#retryWindowMs)
      throw new InvalidGrantError('The authorization code was already redeemed (a retry?); use the tokens of the first redemption');
    await this.#grants.endQuietly(used.sid, 'authorization code replay');
    throw new InvalidGrantError('The authorization code was already used; the tokens it issued have been revoked');
  }
}

/** A marker as written today, or one written before issue 12 (the bare sid, not JSON): such a marker proves nothing, so it never revokes. */
function parseMarker(raw: string): UsedMarker | undefined {
  return parseRecord(usedMarkerSchema, raw, 'code-used marker', undefined);
}
