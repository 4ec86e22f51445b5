import { z } from 'zod';
import type { Store } from '../stores/store.js';
import { parseRecord, writeRecord } from '../util/records.js';
import { keys } from '../stores/keys.js';
import type { Vault, UpstreamTokenSet } from '../vault/vault.js';
import type { UpstreamRegistry } from '../upstream/registry.js';
import type { UpstreamSignIn } from '../upstream/provider.js';
import type { GrantLifecycle } from '../tokens/grant-lifecycle.js';
import { randomToken, type RandomBytes } from '../crypto.js';
import { describeError, type ResolvedLogger } from '../logger.js';
import type { EndedGrants } from './ended.js';

/**
 * Internal: what the proxy remembers of a grant, the session behind a client's
 * tokens (no secrets; tokens live in the vault). Version 1; records without
 * `v` (written before versions existed) are version 1.
 */
export const grantRecordSchema = z.object({
  v: z.literal(1).default(1),
  sid: z.string(),
  sub: z.string(),
  clientId: z.string(),
  scope: z.string(),
  /** The upstream identity's claims. */
  claims: z.record(z.string(), z.unknown()),
  /**
   * Provider ids the grant was created with (the identity's first). In local
   * mode apps linked later have vault records only: the vault says which apps
   * are linked ({@link Grants.linkedApps}), so linking never rewrites this record.
   */
  providers: z.array(z.string()),
  createdAt: z.number(),
});
export type GrantRecord = z.output<typeof grantRecordSchema>;

/** A vault record of local mode: the tokens, and the claims of that app's sign-in (sealed with them). */
type VaultEntry = UpstreamTokenSet & { claims?: Record<string, unknown> };

interface GrantsDeps {
  store: Store;
  vault: Vault;
  ended: EndedGrants;
  upstreams: UpstreamRegistry;
  /** The grant's lifetime (`refreshTokenTtl`), renewed on every use. */
  ttlMs: number;
  clock: () => number;
  random: RandomBytes;
  logger: ResolvedLogger;
}

/**
 * Internal: the one owner of a grant's lifecycle. Nothing else reads or
 * writes grant records or decides how long a grant's vault records live.
 *
 * - `create`: a completed upstream sign-in becomes a grant, held briefly until its code is redeemed;
 * - `link`: an upstream's tokens are sealed into the grant's vault;
 * - `activate`: the first code redemption gives the grant and its vault records their full lifetime;
 * - `slide`: each refresh-token rotation renews the grant;
 * - `end`: the record and every vault record go, each upstream that can revoke is told, every instance learns of it.
 */
export class Grants implements GrantLifecycle {
  readonly #d: GrantsDeps;

  constructor(d: GrantsDeps) {
    this.#d = d;
  }

  async get(sid: string): Promise<GrantRecord | undefined> {
    return this.#parse(await this.#d.store.get(keys.grant(sid)));
  }

  /** Whether the grant still exists (not ended, not expired, readable). */
  async exists(sid: string): Promise<boolean> {
    return (await this.get(sid)) !== undefined;
  }

  /** A new grant for a completed sign-in at `providerId`, kept for `holdMs` until {@link activate}. */
  async create(
    g: { clientId: string; scope: string; providerId: string; tokens: UpstreamTokenSet; claims: Record<string, unknown> & { sub: string } },
    holdMs: number,
    withClaims = false,
  ): Promise<GrantRecord> {
    const record: GrantRecord = {
      v: 1,
      sid: randomToken(this.#d.random, 'sid_', 18),
      sub: g.claims.sub,
      clientId: g.clientId,
      scope: g.scope,
      claims: g.claims,
      providers: [g.providerId],
      createdAt: this.#d.clock(),
    };
    const tokens: VaultEntry = withClaims ? { ...g.tokens, claims: g.claims } : g.tokens;
    await this.#d.vault.put(record.sid, g.providerId, tokens, holdMs);
    await this.#save(record, holdMs);
    return record;
  }

  /** Seals an upstream's (new or refreshed) tokens into the grant's vault, for as long as they can be used. */
  async link(sid: string, providerId: string, tokens: UpstreamTokenSet): Promise<void> {
    await this.#d.vault.put(sid, providerId, tokens, this.vaultTtlMs(tokens));
  }

  /**
   * Links one more app to a grant (local mode): its tokens, with its claims, go
   * into the vault; `holdMs` while the grant awaits its first redemption.
   * `false` when the grant has ended meanwhile (then nothing is kept).
   */
  async linkApp(sid: string, providerId: string, signIn: UpstreamSignIn, holdMs?: number): Promise<boolean> {
    const tokens: VaultEntry = { ...signIn.tokens, claims: signIn.claims };
    await this.#d.vault.put(sid, providerId, tokens, holdMs ?? this.vaultTtlMs(tokens));
    // end() deletes the record before the vault: either it saw this write, or this sees the record gone.
    if (await this.exists(sid)) return true;
    await this.#d.vault.delete(sid, providerId);
    return false;
  }

  /** The apps with usable tokens in this grant's vault, in configuration order. Store errors propagate. */
  async linkedApps(sid: string): Promise<string[]> {
    const ids = this.#d.upstreams.ids();
    const present = await Promise.all(ids.map((pid) => this.#d.vault.get(sid, pid)));
    return ids.filter((_, i) => present[i] !== undefined);
  }

  /**
   * First redemption: the grant and its vault records get their full lifetime.
   * Returns the grant and the providers it has tokens of (what {@link linkedApps}
   * would read again); `undefined` when the grant is gone.
   */
  async activate(sid: string): Promise<{ grant: GrantRecord; linked: string[] } | undefined> {
    const grant = await this.get(sid);
    if (!grant) return undefined;
    await this.#save(grant, this.#d.ttlMs);
    const linked: string[] = [];
    for (const pid of this.#d.upstreams.ids()) {
      const tokens = await this.#d.vault.get(sid, pid);
      if (!tokens) continue;
      await this.link(sid, pid, tokens);
      linked.push(pid);
    }
    return { grant, linked };
  }

  /**
   * Renews the grant (refresh-token rotation). `undefined` when the grant is
   * gone. Compare-and-expire: a grant ended meanwhile is never written back.
   */
  async slide(sid: string): Promise<GrantRecord | undefined> {
    const raw = await this.#d.store.get(keys.grant(sid));
    const record = this.#parse(raw);
    if (record === undefined || !(await this.#d.store.renewIf(keys.grant(sid), raw!, this.#d.ttlMs))) return undefined;
    return record;
  }

  /** Vault TTL for a token set: as long as its refresh token lives, else as long as its access token does, at most the grant's. */
  vaultTtlMs(set: UpstreamTokenSet): number {
    const until = set.refresh_token ? set.refresh_expires_at : set.expires_at;
    if (until === undefined) return this.#d.ttlMs;
    return Math.max(1000, Math.min(this.#d.ttlMs, until * 1000 - this.#d.clock()));
  }

  /** Ends a grant on every instance. Idempotent. Store errors propagate (nothing is half-deleted silently). */
  async end(sid: string, reason: string): Promise<void> {
    const record = await this.get(sid);
    const providerIds = [...new Set([...(record?.providers ?? []), ...this.#d.upstreams.ids()])];
    await this.#d.store.delete(keys.grant(sid));
    await this.#d.ended.end(sid);
    for (const pid of providerIds) {
      const tokens = await this.#d.vault.get(sid, pid).catch(() => undefined);
      await this.#d.vault.delete(sid, pid);
      const upstream = this.#d.upstreams.get(pid);
      if (tokens && upstream) {
        if (tokens.refresh_token) await upstream.revoke(tokens.refresh_token, 'refresh_token', tokens);
        else await upstream.revoke(tokens.access_token, 'access_token', tokens);
      }
    }
    this.#d.logger.info({ sid, reason }, 'session ended');
  }

  /** Ends a grant, logging instead of throwing (used on replay detection, where the client already gets an error). */
  async endQuietly(sid: string, reason: string): Promise<void> {
    try {
      await this.end(sid, reason);
    } catch (err) {
      this.#d.logger.error({ sid, reason, err: describeError(err) }, 'could not end session');
    }
  }

  async #save(record: GrantRecord, ttlMs: number): Promise<void> {
    await this.#d.store.set(keys.grant(record.sid), writeRecord(record), ttlMs);
  }

  #parse(raw: string | undefined): GrantRecord | undefined {
    return parseRecord(grantRecordSchema, raw, 'grant', this.#d.logger);
  }
}
