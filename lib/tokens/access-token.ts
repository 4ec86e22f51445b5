import { createHmac } from 'node:crypto';
import { jwtVerify, decodeProtectedHeader, errors as joseErrors } from 'jose';
import { keyId, randomToken, type RandomBytes } from '../crypto.js';
import { InvalidTokenError } from '../errors.js';
import type { Sealer } from '../vault/seal.js';
import { BoundedLru } from '../util/lru.js';

/** Claims of the proxy's access tokens (RFC 9068-style JWT, HS256). */
export interface AccessTokenClaims {
  iss: string;
  aud: string;
  sub: string;
  sid: string;
  client_id: string;
  scope: string;
  iat: number;
  exp: number;
  jti: string;
  /**
   * The upstream identity's claims (verified id_token, else userinfo), as
   * {@link AccessTokens.verify} returns them. On the wire they are sealed
   * (AES-256-GCM with a key derived from `encryptionKey`), so the client and
   * anything that logs tokens cannot read them.
   */
  upc?: Record<string, unknown>;
  /**
   * Local mode: the apps this token may reach, identity app first. Derived
   * from the grant's vault when the token is minted, never from a request;
   * signed with the rest, so it cannot be widened. Absent in remote mode.
   */
  authorized_apps?: string[];
}

interface HsKey {
  id: string;
  key: Uint8Array;
  /** The encoded JWS protected header for this key. */ header: string;
}

const TYP = 'at+jwt';
/** Upstream claims larger than this (JSON bytes) are left out of the token and a warning is logged. */
export const MAX_EMBEDDED_CLAIMS_BYTES = 4096;

/**
 * Internal: mints and verifies the proxy's HS256 access tokens.
 *
 * Verification always goes through jose, pinned to HS256 with `iss`, `aud`,
 * `exp` and `typ` checked. A bounded cache of already-verified tokens, keyed by
 * the whole token string, sits in front of it: a cached entry is only reused
 * while its `exp` is in the future, so the cache never extends a token's life.
 */
export class AccessTokens {
  readonly #keys: HsKey[];
  readonly #byId: Map<string, HsKey>;
  readonly #issuer: string;
  readonly #audience: string;
  readonly #ttl: number;
  readonly #clock: () => number;
  readonly #random: RandomBytes;
  readonly #cache: BoundedLru<string, AccessTokenClaims>;
  readonly #claimsSealer: Sealer | undefined;

  /** With `claimsSealer`, the upstream claims travel sealed inside the token (`upc` is then a sealed string). */
  constructor(o: {
    secrets: readonly string[];
    issuer: string;
    audience: string;
    ttlSeconds: number;
    clock: () => number;
    random: RandomBytes;
    cacheSize?: number;
    claimsSealer?: Sealer;
  }) {
    this.#keys = o.secrets.map((s) => {
      const key = new Uint8Array(Buffer.from(s, 'utf8'));
      const id = keyId(key);
      return { id, key, header: Buffer.from(JSON.stringify({ alg: 'HS256', typ: TYP, kid: id })).toString('base64url') };
    });
    this.#byId = new Map(this.#keys.map((k) => [k.id, k]));
    this.#issuer = o.issuer;
    this.#audience = o.audience;
    this.#ttl = o.ttlSeconds;
    this.#clock = o.clock;
    this.#random = o.random;
    this.#cache = new BoundedLru(o.cacheSize ?? 10_000);
    this.#claimsSealer = o.claimsSealer;
  }

  async mint(c: {
    sub: string;
    sid: string;
    clientId: string;
    scope: string;
    upstreamClaims?: Record<string, unknown>;
    authorizedApps?: readonly string[];
  }): Promise<{ token: string; expiresAt: number; expiresIn: number }> {
    const now = Math.floor(this.#clock() / 1000);
    const k = this.#keys[0]!;
    const payload: Record<string, unknown> = { sid: c.sid, client_id: c.clientId, scope: c.scope };
    if (c.authorizedApps) payload.authorized_apps = [...c.authorizedApps];
    if (c.upstreamClaims)
      payload.upc = this.#claimsSealer ? this.#claimsSealer.seal(JSON.stringify(c.upstreamClaims), claimsAad(c.sid)) : c.upstreamClaims;
    // node:crypto's HMAC directly (RFC 7515 compact JWS, the bytes jose's SignJWT would produce for this header and payload):
    // jose signs through WebCrypto (importKey plus an async job per token), about 0.6 ms per sign-in in the bench profile.
    Object.assign(payload, {
      iss: this.#issuer,
      aud: this.#audience,
      sub: c.sub,
      iat: now,
      exp: now + this.#ttl,
      jti: randomToken(this.#random, '', 16),
    });
    const input = `${k.header}.${Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url')}`;
    const token = `${input}.${createHmac('sha256', k.key).update(input, 'utf8').digest('base64url')}`;
    return { token, expiresAt: now + this.#ttl, expiresIn: this.#ttl };
  }

  /** Verifies a token, or throws {@link InvalidTokenError}. */
  async verify(token: string): Promise<AccessTokenClaims> {
    const nowSec = this.#clock() / 1000;
    const hit = this.#cache.peek(token);
    if (hit) {
      if (hit.exp > nowSec) return hit;
      this.#cache.delete(token);
      throw new InvalidTokenError('The access token expired');
    }
    const claims = await this.#verifyWithJose(token);
    this.#cache.set(token, claims);
    return claims;
  }

  /**
   * The claims of a token this process has verified and that has not expired,
   * synchronously; `undefined` otherwise (then {@link verify} decides). Lets the
   * hot path skip a promise per request.
   */
  cached(token: string): AccessTokenClaims | undefined {
    const hit = this.#cache.peek(token);
    return hit !== undefined && hit.exp > this.#clock() / 1000 ? hit : undefined;
  }

  /** Drops cached verifications (e.g. of an ended session). */
  forget(predicate: (claims: AccessTokenClaims) => boolean): void {
    this.#cache.deleteWhere(predicate);
  }

  /** Opens sealed upstream claims once per token (the result is cached with the token), or refuses the token. */
  #openClaims(sealed: string, sid: string): Record<string, unknown> {
    const json = this.#claimsSealer?.open(sealed, claimsAad(sid));
    if (json === undefined) throw new InvalidTokenError('The access token cannot be read with the current encryption keys; refresh it');
    return JSON.parse(json) as Record<string, unknown>;
  }

  async #verifyWithJose(token: string): Promise<AccessTokenClaims> {
    let kid: string | undefined;
    try {
      kid = decodeProtectedHeader(token).kid;
    } catch {
      throw new InvalidTokenError('The access token is malformed');
    }
    const candidates = kid !== undefined && this.#byId.has(kid) ? [this.#byId.get(kid)!] : this.#keys;
    let last: unknown;
    for (const k of candidates) {
      try {
        const { payload } = await jwtVerify(token, k.key, {
          algorithms: ['HS256'],
          issuer: this.#issuer,
          audience: this.#audience,
          typ: TYP,
          currentDate: new Date(this.#clock()),
          requiredClaims: ['sub', 'sid', 'client_id', 'exp', 'iat', 'jti'],
        });
        if (typeof payload.sid !== 'string' || typeof payload.client_id !== 'string' || typeof payload.sub !== 'string') {
          throw new InvalidTokenError('The access token is missing required claims');
        }
        const apps = payload.authorized_apps;
        if (apps !== undefined && (!Array.isArray(apps) || apps.some((a) => typeof a !== 'string')))
          throw new InvalidTokenError('The access token\'s "authorized_apps" claim is invalid');
        const out = { ...payload, scope: typeof payload.scope === 'string' ? payload.scope : '' } as AccessTokenClaims;
        if (apps !== undefined) Object.freeze(apps);
        if (typeof payload.upc === 'string') out.upc = this.#openClaims(payload.upc, payload.sid);
        return out;
      } catch (err) {
        last = err;
        if (!(err instanceof joseErrors.JWSSignatureVerificationFailed)) break;
      }
    }
    if (last instanceof InvalidTokenError) throw last;
    if (last instanceof joseErrors.JWTExpired) throw new InvalidTokenError('The access token expired');
    if (last instanceof joseErrors.JWTClaimValidationFailed)
      throw new InvalidTokenError(`The access token's "${last.claim}" claim is invalid`);
    throw new InvalidTokenError('The access token is invalid');
  }
}

/** Binds sealed claims to their session (a sealed value copied into another token does not open). */
function claimsAad(sid: string): string {
  return `access-token-claims|${sid}`;
}
