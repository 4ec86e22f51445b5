import { z } from 'zod';
import type { Store } from '../stores/store.js';
import type { ResolvedLogger } from '../logger.js';
import { parseRecord, writeRecord } from '../util/records.js';
import { keys } from '../stores/keys.js';
import { randomToken, sha256, type RandomBytes } from '../crypto.js';

const transactionSchema = z.object({
  id: z.string(),
  clientId: z.string(),
  redirectUri: z.string(),
  /** The client's own `state`, returned unchanged. */
  state: z.string().optional(),
  codeChallenge: z.string(),
  scope: z.string(),
  /** Local mode: the apps still to sign in at, in order (the first is next). */
  apps: z.array(z.string()).optional(),
  /** Local mode: the apps the consent page offers (required ones first). */
  offered: z.array(z.string()).optional(),
  /** Local mode: the apps already linked to `sid` (step-up), shown as connected. */
  linked: z.array(z.string()).optional(),
  /** Local mode: the grant being built (after the first sign-in) or extended (step-up). */
  sid: z.string().optional(),
  /** Local mode, `?app=` links: no code at the end; the person is told the app is connected. */
  linkOnly: z.boolean().optional(),
  /** Local mode, `?app=` links from another browser: the identity app must sign in this subject first. */
  expectSub: z.string().optional(),
});

/** A validated authorization request, waiting for consent or for the upstream. */
export type Transaction = Omit<z.output<typeof transactionSchema>, 'state'> & { state: string | undefined };

/** Internal: what the callback needs, stored under the hash of the upstream `state`. Version 1 (no `v`: version 1). */
export const pendingAuthorizationSchema = z.object({
  v: z.literal(1).default(1),
  txn: transactionSchema,
  /** The provider this sign-in went to (local mode); absent: the primary upstream. */
  app: z.string().optional(),
  nonce: z.string(),
  codeVerifier: z.string(),
});
export type PendingAuthorization = Omit<z.output<typeof pendingAuthorizationSchema>, 'txn'> & { txn: Transaction };

/**
 * Internal: authorizations sent to the upstream and not yet back. The upstream
 * `state`, `nonce` and PKCE verifier are created here, kept for
 * `authorizationTtl` under the state's hash only, and consumed once (atomic take).
 */
export class PendingAuthorizations {
  readonly #store: Store;
  readonly #random: RandomBytes;
  readonly #ttlMs: number;
  readonly #logger: ResolvedLogger | undefined;

  constructor(d: { store: Store; random: RandomBytes; ttlSeconds: number; logger?: ResolvedLogger }) {
    this.#logger = d.logger;
    this.#store = d.store;
    this.#random = d.random;
    this.#ttlMs = d.ttlSeconds * 1000;
  }

  /** Starts one: returns the upstream `state` (whose hash binds it to the browser), `nonce` and verifier. */
  async start(txn: Transaction, app?: string): Promise<{ state: string; stateHash: string; nonce: string; codeVerifier: string }> {
    const state = randomToken(this.#random);
    const nonce = randomToken(this.#random);
    const codeVerifier = randomToken(this.#random);
    const stateHash = sha256(state);
    const pending: PendingAuthorization = { v: 1, txn, nonce, codeVerifier, ...(app !== undefined ? { app } : {}) };
    await this.#store.set(keys.pending(stateHash), writeRecord(pending), this.#ttlMs);
    return { state, stateHash, nonce, codeVerifier };
  }

  /** Consumes the authorization an upstream `state` stands for, once; `undefined` when unknown, expired or already used. */
  async take(stateHash: string): Promise<PendingAuthorization | undefined> {
    const record = parseRecord(
      pendingAuthorizationSchema,
      await this.#store.take(keys.pending(stateHash)),
      'pending authorization',
      this.#logger,
    );
    return record === undefined ? undefined : { ...record, txn: { ...record.txn, state: record.txn.state } };
  }
}
