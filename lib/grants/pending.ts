import type { Store } from '../stores/store.js';
import { keys } from '../stores/keys.js';
import { randomToken, sha256, type RandomBytes } from '../crypto.js';

/** A validated authorization request, waiting for consent or for the upstream. */
export interface Transaction {
  id: string;
  clientId: string;
  redirectUri: string;
  /** The client's own `state`, returned unchanged. */
  state: string | undefined;
  codeChallenge: string;
  scope: string;
}

/** Internal: what the callback needs, stored under the hash of the upstream `state`. */
export interface PendingAuthorization {
  txn: Transaction;
  nonce: string;
  codeVerifier: string;
}

/**
 * Internal: authorizations sent to the upstream and not yet back. The upstream
 * `state`, `nonce` and PKCE verifier are created here, kept for
 * `authorizationTtl` under the state's hash only, and consumed once (atomic take).
 */
export class PendingAuthorizations {
  readonly #store: Store;
  readonly #random: RandomBytes;
  readonly #ttlMs: number;

  constructor(d: { store: Store; random: RandomBytes; ttlSeconds: number }) {
    this.#store = d.store;
    this.#random = d.random;
    this.#ttlMs = d.ttlSeconds * 1000;
  }

  /** Starts one: returns the upstream `state` (whose hash binds it to the browser), `nonce` and verifier. */
  async start(txn: Transaction): Promise<{ state: string; stateHash: string; nonce: string; codeVerifier: string }> {
    const state = randomToken(this.#random);
    const nonce = randomToken(this.#random);
    const codeVerifier = randomToken(this.#random);
    const stateHash = sha256(state);
    const pending: PendingAuthorization = { txn, nonce, codeVerifier };
    await this.#store.set(keys.pending(stateHash), JSON.stringify(pending), this.#ttlMs);
    return { state, stateHash, nonce, codeVerifier };
  }

  /** Consumes the authorization an upstream `state` stands for, once; `undefined` when unknown, expired or already used. */
  async take(stateHash: string): Promise<PendingAuthorization | undefined> {
    const raw = await this.#store.take(keys.pending(stateHash));
    return raw === undefined ? undefined : (JSON.parse(raw) as PendingAuthorization);
  }
}
