import { z } from 'zod';
import type { Store } from '../stores/store.js';
import { parseRecord } from '../util/records.js';
import type { ResolvedLogger } from '../logger.js';
import { keys } from '../stores/keys.js';
import type { Sealer } from './seal.js';
import { BoundedLru } from '../util/lru.js';

/**
 * Upstream tokens of one provider, as kept (sealed) in the vault. Times in seconds since epoch.
 *
 * @example
 * ```ts
 * providerConfig: { profile: async ({ tokens }: { tokens: UpstreamTokenSet }) => ({ sub: await lookUp(tokens.access_token) }) }
 * ```
 */
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
 * Internal: the schema of an opened vault record. The sealed envelope carries
 * the version (`v1.` prefix, see `Sealer`); the plaintext is parsed with this
 * on every open, unknown fields kept.
 */
export const upstreamTokenSetSchema = z
  .object({
    access_token: z.string(),
    token_type: z.string().optional(),
    refresh_token: z.string().optional(),
    expires_at: z.number().optional(),
    refresh_expires_at: z.number().optional(),
    scope: z.string().optional(),
  })
  .loose();

/** Default number of opened vault records kept per process (one per session and provider). */
export const DEFAULT_VAULT_CACHE_SIZE = 10_000;

interface Opened {
  sealed: string;
  tokens: Readonly<UpstreamTokenSet>;
}

/**
 * Internal: the encrypted token vault. Records are keyed by a stable session id
 * and a provider id, so one session can hold tokens of several upstreams, and
 * refreshing the proxy's own tokens never moves them. Each record is sealed with
 * AES-256-GCM under associated data `sid|provider|upstream-tokens`.
 *
 * Every read goes to the store, so a record rewritten or deleted by another
 * instance is seen at once. What is saved is the decryption: a bounded cache
 * remembers, per record, the sealed string last opened and what it opened to.
 * When the store returns that same string again, the cached (frozen) token set
 * is returned without AES-GCM and JSON work. A sealed string names its key, IV
 * and tag, so equal strings under the same associated data open to equal
 * plaintexts; any other string is opened and authenticated as usual.
 */
export class Vault {
  readonly #store: Store;
  readonly #sealer: Sealer;
  readonly #opened: BoundedLru<string, Opened>;

  readonly #logger: ResolvedLogger | undefined;

  constructor(store: Store, sealer: Sealer, cacheSize = DEFAULT_VAULT_CACHE_SIZE, logger?: ResolvedLogger) {
    this.#logger = logger;
    this.#store = store;
    this.#sealer = sealer;
    this.#opened = new BoundedLru(Math.max(0, cacheSize));
  }

  async get(sid: string, providerId: string): Promise<Readonly<UpstreamTokenSet> | undefined> {
    const key = keys.vault(sid, providerId);
    const raw = await this.#store.get(key);
    if (raw === undefined) {
      this.#opened.delete(key);
      return undefined;
    }
    const hit = this.#opened.peek(key);
    if (hit !== undefined && hit.sealed === raw) return hit.tokens;
    const plain = this.#sealer.open(raw, aad(sid, providerId));
    if (plain === undefined) {
      this.#opened.delete(key);
      return undefined;
    }
    const parsed = parseRecord(upstreamTokenSetSchema, plain, 'vault', this.#logger);
    if (parsed === undefined) {
      this.#opened.delete(key);
      return undefined;
    }
    const tokens = Object.freeze(parsed as UpstreamTokenSet);
    this.#remember(key, raw, tokens);
    return tokens;
  }

  async put(sid: string, providerId: string, tokens: UpstreamTokenSet, ttlMs: number): Promise<void> {
    const key = keys.vault(sid, providerId);
    this.#opened.delete(key);
    await this.#store.set(key, this.#sealer.seal(JSON.stringify(tokens), aad(sid, providerId)), ttlMs);
  }

  async delete(sid: string, providerId: string): Promise<void> {
    const key = keys.vault(sid, providerId);
    this.#opened.delete(key);
    await this.#store.delete(key);
  }

  #remember(key: string, sealed: string, tokens: Readonly<UpstreamTokenSet>): void {
    this.#opened.set(key, { sealed, tokens });
  }
}

const aad = (sid: string, providerId: string) => `${sid}|${providerId}|upstream-tokens`;
