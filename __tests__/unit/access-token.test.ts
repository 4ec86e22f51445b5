import { describe, it, expect } from '@jest/globals';
import { SignJWT, decodeJwt, decodeProtectedHeader } from 'jose';
import { AccessTokens } from '../../lib/tokens/access-token.js';
import { defaultRandomBytes, keyId } from '../../lib/crypto.js';
import { InvalidTokenError } from '../../lib/errors.js';
import { Sealer } from '../../lib/vault/seal.js';

/** The proxy's HS256 access tokens: claims, pinned verification, rotation, and a cache that never extends a life. */
const ISS = 'https://mcp.example.com/oauth';
const AUD = 'https://mcp.example.com/mcp';
const S1 = 'first-signing-secret-0123456789-abcdefghij';
const S2 = 'second-signing-secret-0123456789-abcdefghij';
const enc = (s: string) => new TextEncoder().encode(s);

function tokens(o: { secrets?: string[]; clock?: () => number; ttl?: number } = {}) {
  return new AccessTokens({
    secrets: o.secrets ?? [S1],
    issuer: ISS,
    audience: AUD,
    ttlSeconds: o.ttl ?? 600,
    clock: o.clock ?? Date.now,
    random: defaultRandomBytes,
  });
}
const session = {
  sub: 'alice',
  sid: 'sid_1',
  clientId: 'mop_client_1',
  scope: 'openid email',
  upstreamClaims: { sub: 'alice', department: 'engineering' },
};

async function rejected(p: Promise<unknown>): Promise<InvalidTokenError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(InvalidTokenError);
  return err as InvalidTokenError;
}

describe('mint', () => {
  it('an HS256 at+jwt with iss, aud, sub, sid, client_id, scope, iat, exp and jti', async () => {
    const now = 1_800_000_000_000;
    const at = tokens({ clock: () => now, ttl: 900 });
    const { token, expiresAt, expiresIn } = await at.mint(session);
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'HS256', typ: 'at+jwt', kid: keyId(enc(S1)) });
    const c = decodeJwt(token);
    expect(c).toMatchObject({
      iss: ISS,
      aud: AUD,
      sub: 'alice',
      sid: 'sid_1',
      client_id: 'mop_client_1',
      scope: 'openid email',
      iat: now / 1000,
      exp: now / 1000 + 900,
    });
    expect(c.upc).toEqual({ sub: 'alice', department: 'engineering' });
    expect(typeof c.jti).toBe('string');
    expect({ expiresAt, expiresIn }).toEqual({ expiresAt: now / 1000 + 900, expiresIn: 900 });
    expect(decodeJwt((await at.mint(session)).token).jti).not.toBe(c.jti);
  });

  it('signs with the first secret', async () => {
    const { token } = await tokens({ secrets: [S2, S1] }).mint(session);
    expect(decodeProtectedHeader(token).kid).toBe(keyId(enc(S2)));
    await expect(tokens({ secrets: [S2] }).verify(token)).resolves.toMatchObject({ sub: 'alice' });
    await rejected(tokens({ secrets: [S1] }).verify(token));
  });
});

describe('verify', () => {
  const now = () => Math.floor(Date.now() / 1000);
  const forge = (claims: Record<string, unknown>, header: Record<string, unknown> = {}, secret = S1) =>
    new SignJWT({ sid: 'sid_1', client_id: 'c', scope: 'openid', jti: 'j', ...claims })
      .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', ...header } as { alg: string })
      .sign(enc(secret));
  const good = { iss: ISS, aud: AUD, sub: 'alice', iat: now(), exp: now() + 60 };

  it('accepts a well-formed token (control)', async () => {
    await expect(tokens().verify(await forge(good))).resolves.toMatchObject({ sub: 'alice', sid: 'sid_1', scope: 'openid' });
  });

  it('pins HS256, and checks iss, aud, exp, typ and the required claims', async () => {
    const at = tokens();
    await rejected(at.verify(await forge(good, { alg: 'HS384' })));
    await rejected(at.verify(await forge(good, {}, S2)));
    await rejected(at.verify(await forge({ ...good, iss: `${ISS}/` })));
    await rejected(at.verify(await forge({ ...good, aud: ISS })));
    expect((await rejected(at.verify(await forge({ ...good, exp: now() - 1 })))).message).toMatch(/expired/);
    await rejected(at.verify(await forge(good, { typ: 'JWT' })));
    await rejected(at.verify(await forge({ ...good, sid: 42 })));
    await rejected(at.verify(await forge({ ...good, sid: undefined })));
    await rejected(at.verify('not.a.jwt'));
    await rejected(at.verify(''));
  });

  it('verifies with every secret of the rotation, with or without a kid', async () => {
    const at = tokens({ secrets: [S2, S1] });
    await expect(at.verify(await forge(good))).resolves.toMatchObject({ sub: 'alice' });
    await expect(at.verify(await forge(good, { kid: keyId(enc(S1)) }))).resolves.toMatchObject({ sub: 'alice' });
    await expect(at.verify(await forge(good, { kid: 'unknown-kid' }))).resolves.toMatchObject({ sub: 'alice' });
    // A kid naming one key does not let a token signed with another key through.
    await rejected(at.verify(await forge(good, { kid: keyId(enc(S2)) }, 'some-removed-secret-0123456789-abcdefg')));
  });

  it('never extends a token’s life from the cache', async () => {
    let t = 1_800_000_000_000;
    const at = tokens({ clock: () => t, ttl: 60 });
    const { token } = await at.mint(session);
    await expect(at.verify(token)).resolves.toMatchObject({ sub: 'alice' }); // cached now
    t += 59_000;
    await expect(at.verify(token)).resolves.toMatchObject({ sub: 'alice' });
    t += 2_000;
    expect((await rejected(at.verify(token))).message).toMatch(/expired/);
    expect((await rejected(at.verify(token))).message).toMatch(/expired/); // also after eviction, through jose
  });

  it('cached() answers synchronously only for a token verified before and not yet expired', async () => {
    let t = 1_800_000_000_000;
    const at = tokens({ clock: () => t, ttl: 60 });
    const { token } = await at.mint(session);
    expect(at.cached(token)).toBeUndefined(); // minted is not verified
    await at.verify(token);
    expect(at.cached(token)).toMatchObject({ sub: 'alice', sid: session.sid });
    expect(at.cached(`${token.slice(0, -2)}xx`)).toBeUndefined();
    t += 61_000;
    expect(at.cached(token)).toBeUndefined();
  });
});

// Issue 12, finding 6: with a claims sealer the upstream claims are unreadable on the wire and opened on verify.
describe('sealed upstream claims', () => {
  const K1 = 'vault-key-one-0123456789-abcdefghijklmnopq';
  const K2 = 'vault-key-two-0123456789-abcdefghijklmnopq';
  const sealed = (keys: string[]) =>
    new AccessTokens({
      secrets: [S1],
      issuer: ISS,
      audience: AUD,
      ttlSeconds: 600,
      clock: Date.now,
      random: defaultRandomBytes,
      claimsSealer: new Sealer(keys, defaultRandomBytes, 'access-token-claims-aes-256-gcm'),
    });

  it('are a sealed string in the token and the claims again after verify', async () => {
    const { token } = await sealed([K1]).mint(session);
    const c = decodeJwt(token);
    expect(typeof c.upc).toBe('string');
    expect(JSON.stringify(c)).not.toContain('engineering');
    await expect(sealed([K1]).verify(token)).resolves.toMatchObject({ sub: 'alice', upc: { sub: 'alice', department: 'engineering' } });
    await expect(sealed([K2, K1]).verify(token)).resolves.toMatchObject({ upc: { department: 'engineering' } }); // key rotation
  });

  it('a token whose claims no current key opens is refused (the client refreshes)', async () => {
    const { token } = await sealed([K1]).mint(session);
    expect((await rejected(sealed([K2]).verify(token))).message).toMatch(/encryption keys/);
  });

  it('the vault key itself does not open them (a key of their own, derived from encryptionKey)', async () => {
    const { token } = await sealed([K1]).mint(session);
    expect(new Sealer([K1], defaultRandomBytes).open(decodeJwt(token).upc as string, 'access-token-claims|sid_1')).toBeUndefined();
  });
});
