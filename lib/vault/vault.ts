import type { Store } from '../stores/store.js';
import { keys } from '../stores/keys.js';
import type { Sealer } from './seal.js';

/** Upstream tokens of one provider, as kept (sealed) in the vault. Times in seconds since epoch. */
export interface UpstreamTokenSet {
  access_token: string;
  token_type?: string;
  refresh_token?: string;
  /** When the access token expires; absent when the upstream did not say. */
  expires_at?: number;
  /** When the refresh token expires, when the upstream said (e.g. `refresh_expires_in`). */
  refresh_expires_at?: number;
  scope?: string;
}

/**
 * Internal: the encrypted token vault. Records are keyed by a stable session id
 * and a provider id, so one session can hold tokens of several upstreams, and
 * refreshing the proxy's own tokens never moves them. Each record is sealed with
 * AES-256-GCM under associated data `sid|provider|upstream-tokens`.
 */
export class Vault {
  readonly #store: Store;
  readonly #sealer: Sealer;

  constructor(store: Store, sealer: Sealer) {
    this.#store = store;
    this.#sealer = sealer;
  }

  async get(sid: string, providerId: string): Promise<UpstreamTokenSet | undefined> {
    const raw = await this.#store.get(keys.vault(sid, providerId));
    if (raw === undefined) return undefined;
    const plain = this.#sealer.open(raw, aad(sid, providerId));
    if (plain === undefined) return undefined;
    return JSON.parse(plain) as UpstreamTokenSet;
  }

  async put(sid: string, providerId: string, tokens: UpstreamTokenSet, ttlMs: number): Promise<void> {
    await this.#store.set(keys.vault(sid, providerId), this.#sealer.seal(JSON.stringify(tokens), aad(sid, providerId)), ttlMs);
  }

  async delete(sid: string, providerId: string): Promise<void> {
    await this.#store.delete(keys.vault(sid, providerId));
  }
}

const aad = (sid: string, providerId: string) => `${sid}|${providerId}|upstream-tokens`;
