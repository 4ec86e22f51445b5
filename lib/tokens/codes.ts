import type { Store } from '../stores/store.js';
import { keys } from '../stores/keys.js';
import { randomToken, sha256, type RandomBytes } from '../crypto.js';
import { InvalidGrantError } from '../errors.js';
import type { Sessions } from '../session/sessions.js';

/** Internal: what a one-time authorization code stands for (stored under the code's hash). */
export interface CodeRecord {
  sid: string;
  clientId: string;
  redirectUri: string;
  codeChallenge: string;
  scope: string;
}

/**
 * Internal: one-time authorization codes. A code is consumed with an atomic
 * `take`; a code presented again finds the "used" marker and ends the session
 * the first redemption started (RFC 6749 §4.1.2).
 */
export class Codes {
  readonly #store: Store;
  readonly #sessions: Sessions;
  readonly #random: RandomBytes;
  readonly #ttlMs: number;

  constructor(d: { store: Store; sessions: Sessions; random: RandomBytes; ttlSeconds: number }) {
    this.#store = d.store;
    this.#sessions = d.sessions;
    this.#random = d.random;
    this.#ttlMs = d.ttlSeconds * 1000;
  }

  async issue(record: CodeRecord): Promise<string> {
    const code = randomToken(this.#random, 'mop_code_');
    await this.#store.set(keys.code(sha256(code)), JSON.stringify(record), this.#ttlMs);
    return code;
  }

  /** Reads a code without consuming it (to check PKCE and the client before the atomic consume). */
  async peek(code: string): Promise<CodeRecord | undefined> {
    const raw = await this.#store.get(keys.code(sha256(code)));
    return raw === undefined ? undefined : (JSON.parse(raw) as CodeRecord);
  }

  /** Consumes a code exactly once. A replay revokes what the code issued and throws `invalid_grant`. */
  async consume(code: string): Promise<CodeRecord> {
    const hash = sha256(code);
    const raw = await this.#store.take(keys.code(hash));
    if (raw === undefined) {
      const used = await this.#store.get(keys.codeUsed(hash));
      if (used !== undefined) {
        await this.#sessions.endQuietly(used, 'authorization code replay');
        throw new InvalidGrantError('The authorization code was already used; the tokens it issued have been revoked');
      }
      throw new InvalidGrantError('The authorization code is invalid or expired');
    }
    const record = JSON.parse(raw) as CodeRecord;
    await this.#store.set(keys.codeUsed(hash), record.sid, this.#ttlMs * 10);
    return record;
  }
}
