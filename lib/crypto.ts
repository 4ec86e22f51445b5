import { createHash, createHmac, hkdfSync, randomBytes as nodeRandomBytes, timingSafeEqual } from 'node:crypto';

/** Internal: a source of random bytes (injected in tests). */
export type RandomBytes = (size: number) => Buffer;

const POOL_BYTES = 4096;
let pool = Buffer.alloc(0);
let used = 0;

/**
 * `crypto.randomBytes`, the default source of randomness, drawn 4 KiB at a time: one CSPRNG call
 * costs 5–7 µs on the bench VM whatever its size, and a sign-in asks for a dozen small tokens. Every
 * caller gets its own copy of bytes no other caller ever gets; sizes above 256 bytes go straight through.
 */
export const defaultRandomBytes: RandomBytes = (size) => {
  if (size > 256) return nodeRandomBytes(size);
  if (used + size > pool.length) {
    pool = nodeRandomBytes(POOL_BYTES);
    used = 0;
  }
  const out = Buffer.from(pool.subarray(used, used + size));
  pool.fill(0, used, used + size); // handed out: not kept in the pool
  used += size;
  return out;
};

/** A 256-bit random token, base64url, with an optional readable prefix. */
export function randomToken(random: RandomBytes, prefix = '', bytes = 32): string {
  return prefix + random(bytes).toString('base64url');
}

/** SHA-256, base64url. Used to store codes, refresh tokens and secrets only as hashes. */
export function sha256(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('base64url');
}

/** Constant-time comparison of two strings (lengths may differ). */
export function safeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a, 'utf8');
  const bb = Buffer.from(b, 'utf8');
  // Compare HMACs so that unequal lengths take the same time as equal ones.
  if (ab.length !== bb.length) {
    const k = nodeRandomBytes(32);
    timingSafeEqual(createHmac('sha256', k).update(ab).digest(), createHmac('sha256', k).update(bb).digest());
    return false;
  }
  return timingSafeEqual(ab, bb);
}

/** Derives a 32-byte key from a secret for one purpose (HKDF-SHA256). */
export function deriveKey(secret: string, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', Buffer.from(secret, 'utf8'), Buffer.from('mcp-oauth-proxy'), Buffer.from(purpose), 32));
}

/** A short, stable key id for a key (first 8 bytes of its SHA-256, base64url). */
export function keyId(key: Uint8Array): string {
  return createHash('sha256').update(key).digest('base64url').slice(0, 11);
}

/** PKCE S256: base64url(sha256(verifier)). */
export function pkceChallenge(verifier: string): string {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url');
}
