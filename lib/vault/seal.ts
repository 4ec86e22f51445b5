import { createCipheriv, createDecipheriv } from 'node:crypto';
import { deriveKey, keyId, type RandomBytes } from '../crypto.js';

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

interface SealKey {
  id: string;
  key: Buffer;
}

/**
 * Internal: AES-256-GCM sealing with key rotation. The first key encrypts, every
 * key decrypts (chosen by the key id in the sealed string). Each seal uses a
 * fresh random 96-bit IV. The associated data binds a sealed value to its
 * context (e.g. `sid|provider|upstream-tokens`), so a value copied to another
 * record does not open.
 *
 * Format: `v1.<kid>.<iv>.<ciphertext>.<tag>` (base64url parts).
 */
export class Sealer {
  readonly #keys: SealKey[];
  readonly #byId: Map<string, SealKey>;
  readonly #random: RandomBytes;

  /** `purpose` selects an independent key derived from the same secrets (HKDF info); the vault's is the default. */
  constructor(secrets: readonly string[], random: RandomBytes, purpose = 'vault-aes-256-gcm') {
    if (secrets.length === 0) throw new TypeError('"encryptionKey" must hold at least one key');
    this.#keys = secrets.map((s) => {
      const key = deriveKey(s, purpose);
      return { id: keyId(key), key };
    });
    this.#byId = new Map(this.#keys.map((k) => [k.id, k]));
    this.#random = random;
  }

  seal(plaintext: string, aad: string): string {
    const k = this.#keys[0]!;
    const iv = this.#random(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', k.key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(aad, 'utf8'));
    const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [VERSION, k.id, iv.toString('base64url'), ct.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.');
  }

  /** Returns the plaintext, or `undefined` when the value is malformed, from an unknown key, tampered with, or bound to other data. */
  open(sealed: string, aad: string): string | undefined {
    const parts = sealed.split('.');
    if (parts.length !== 5 || parts[0] !== VERSION) return undefined;
    const k = this.#byId.get(parts[1]!);
    if (!k) return undefined;
    try {
      const iv = Buffer.from(parts[2]!, 'base64url');
      const tag = Buffer.from(parts[4]!, 'base64url');
      if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) return undefined;
      const decipher = createDecipheriv('aes-256-gcm', k.key, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(Buffer.from(aad, 'utf8'));
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(Buffer.from(parts[3]!, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      return undefined;
    }
  }
}
