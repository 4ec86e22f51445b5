import type { Store } from '../stores/store.js';
import { keys } from '../stores/keys.js';
import type { Vault } from '../vault/vault.js';
import type { EndedSessions } from './ended-sessions.js';
import type { UpstreamProvider } from '../upstream/provider.js';
import type { ResolvedLogger } from '../logger.js';
import { describeError } from '../logger.js';

/** Internal: what the proxy remembers of a session (no secrets; tokens live in the vault). */
export interface SessionRecord {
  sid: string;
  sub: string;
  clientId: string;
  scope: string;
  /** The upstream identity's claims. */
  claims: Record<string, unknown>;
  /** Provider ids with a vault record for this session. */
  providers: string[];
  createdAt: number;
}

/**
 * Internal: session records, and ending a session everywhere: the record and
 * every vault record go, the upstream refresh token is revoked at the upstream
 * when it has a revocation endpoint, and every instance is told.
 */
export class Sessions {
  readonly #store: Store;
  readonly #vault: Vault;
  readonly #ended: EndedSessions;
  readonly #providers: ReadonlyMap<string, UpstreamProvider>;
  readonly #ttlMs: number;
  readonly #logger: ResolvedLogger;

  constructor(d: { store: Store; vault: Vault; ended: EndedSessions; providers: ReadonlyMap<string, UpstreamProvider>; ttlMs: number; logger: ResolvedLogger }) {
    this.#store = d.store;
    this.#vault = d.vault;
    this.#ended = d.ended;
    this.#providers = d.providers;
    this.#ttlMs = d.ttlMs;
    this.#logger = d.logger;
  }

  async get(sid: string): Promise<SessionRecord | undefined> {
    const raw = await this.#store.get(keys.session(sid));
    return raw === undefined ? undefined : (JSON.parse(raw) as SessionRecord);
  }

  /** Writes the record with a fresh, sliding TTL. */
  async save(record: SessionRecord, ttlMs = this.#ttlMs): Promise<void> {
    await this.#store.set(keys.session(record.sid), JSON.stringify(record), ttlMs);
  }

  /** Ends a session on every instance. Idempotent. Store errors propagate (nothing is half-deleted silently). */
  async end(sid: string, reason: string): Promise<void> {
    const record = await this.get(sid);
    const providerIds = record?.providers ?? [...this.#providers.keys()];
    await this.#store.delete(keys.session(sid));
    await this.#ended.end(sid);
    for (const pid of providerIds) {
      const tokens = await this.#vault.get(sid, pid).catch(() => undefined);
      await this.#vault.delete(sid, pid);
      const provider = this.#providers.get(pid);
      if (tokens && provider) {
        if (tokens.refresh_token) await provider.revoke(tokens.refresh_token, 'refresh_token', tokens);
        else await provider.revoke(tokens.access_token, 'access_token', tokens);
      }
    }
    this.#logger.info({ sid, reason }, 'session ended');
  }

  /** Ends a session, logging instead of throwing (used on replay detection, where the client already gets an error). */
  async endQuietly(sid: string, reason: string): Promise<void> {
    try {
      await this.end(sid, reason);
    } catch (err) {
      this.#logger.error({ sid, reason, err: describeError(err) }, 'could not end session');
    }
  }
}
