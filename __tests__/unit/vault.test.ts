import { describe, it, expect, afterAll } from '@jest/globals';
import { MemoryStore } from '../../lib/index.js';
import { Sealer } from '../../lib/vault/seal.js';
import { Vault } from '../../lib/vault/vault.js';
import { keys } from '../../lib/stores/keys.js';
import { defaultRandomBytes } from '../../lib/crypto.js';
import { parseOptions } from '../../lib/options.js';
import { createContext } from '../../lib/context.js';
import { TEST_SECRET, TEST_VAULT_KEY, recordingLogger } from '../helpers/proxy.js';

/** The upstream-token vault: AES-256-GCM, fresh IV, AAD binding, key ids and rotation. */
const K1 = 'vault-key-one-0123456789-abcdefghijklmnop';
const K2 = 'vault-key-two-0123456789-abcdefghijklmnop';
const AAD = 'sid_A|upstream|upstream-tokens';
const PLAIN = JSON.stringify({ access_token: 'upstream-access-token-secret', refresh_token: 'upstream-refresh-token' });
const parts = (sealed: string) => sealed.split('.');

/** Flips the last characters of one dot-separated part of a stored vault record (3: ciphertext, 4: tag). */
async function tamper(store: MemoryStore, sid: string, part: 3 | 4): Promise<void> {
  const raw = (await store.get(keys.vault(sid, 'upstream')))!;
  const p = raw.split('.');
  p[part] = `${p[part]!.slice(0, -2)}${p[part]!.endsWith('AA') ? 'BB' : 'AA'}`;
  await store.set(keys.vault(sid, 'upstream'), p.join('.'), 60_000);
}

const stores: MemoryStore[] = [];
afterAll(async () => {
  for (const s of stores) await s.close();
});
const newStore = () => {
  const s = new MemoryStore();
  stores.push(s);
  return s;
};

describe('Sealer', () => {
  const sealer = new Sealer([K1], defaultRandomBytes);

  it('round-trips, and the sealed form shows neither the plaintext nor the key', () => {
    const sealed = sealer.seal(PLAIN, AAD);
    expect(sealer.open(sealed, AAD)).toBe(PLAIN);
    expect(sealed).not.toContain('upstream-access-token-secret');
    expect(Buffer.from(parts(sealed)[3]!, 'base64url').toString('latin1')).not.toContain('upstream');
    expect(sealed).not.toContain(K1);
  });

  it('uses a fresh 96-bit IV per seal: two seals of the same value differ', () => {
    const a = sealer.seal(PLAIN, AAD);
    const b = sealer.seal(PLAIN, AAD);
    expect(a).not.toBe(b);
    expect(parts(a)[2]).not.toBe(parts(b)[2]);
    expect(Buffer.from(parts(a)[2]!, 'base64url')).toHaveLength(12);
    const ivs = new Set(Array.from({ length: 50 }, () => parts(sealer.seal('x', AAD))[2]));
    expect(ivs.size).toBe(50);
  });

  it('binds the value to its associated data', () => {
    const sealed = sealer.seal(PLAIN, AAD);
    expect(sealer.open(sealed, 'sid_B|upstream|upstream-tokens')).toBeUndefined();
    expect(sealer.open(sealed, 'sid_A|other|upstream-tokens')).toBeUndefined();
    expect(sealer.open(sealed, '')).toBeUndefined();
  });

  it('returns undefined for any tampering', () => {
    const sealed = sealer.seal(PLAIN, AAD);
    const flip = (s: string) => `${s[0] === 'A' ? 'B' : 'A'}${s.slice(1)}`;
    for (const i of [2, 3, 4]) {
      const p = parts(sealed);
      p[i] = flip(p[i]!);
      expect(sealer.open(p.join('.'), AAD)).toBeUndefined();
    }
    const p = parts(sealed);
    expect(sealer.open(['v2', ...p.slice(1)].join('.'), AAD)).toBeUndefined();
    expect(sealer.open(p.slice(0, 4).join('.'), AAD)).toBeUndefined();
    expect(sealer.open([p[0], p[1], p[2], p[3], p[4]!.slice(0, 10)].join('.'), AAD)).toBeUndefined(); // short tag
    expect(sealer.open('garbage', AAD)).toBeUndefined();
  });

  it('carries a key id; rotation: the old key still opens, the new key seals', () => {
    const old = new Sealer([K1], defaultRandomBytes);
    const rotated = new Sealer([K2, K1], defaultRandomBytes);
    const sealedOld = old.seal(PLAIN, AAD);
    const sealedNew = rotated.seal(PLAIN, AAD);
    const kid1 = parts(sealedOld)[1]!;
    const kid2 = parts(sealedNew)[1]!;
    expect(kid1).toMatch(/^[A-Za-z0-9_-]{8,}$/);
    expect(kid2).not.toBe(kid1);
    expect(parts(old.seal('y', AAD))[1]).toBe(kid1); // stable per key
    expect(rotated.open(sealedOld, AAD)).toBe(PLAIN);
    expect(rotated.open(sealedNew, AAD)).toBe(PLAIN);
    expect(old.open(sealedNew, AAD)).toBeUndefined(); // K2 unknown to the old sealer
    expect(new Sealer([K2], defaultRandomBytes).open(sealedOld, AAD)).toBeUndefined(); // K1 removed
  });

  it('needs at least one key', () => {
    expect(() => new Sealer([], defaultRandomBytes)).toThrow(TypeError);
  });
});

describe('Vault', () => {
  const tokens = { access_token: 'upstream-at', refresh_token: 'upstream-rt', expires_at: 1_900_000_000 };

  it('stores records sealed, under the session id and the provider', async () => {
    const store = newStore();
    const vault = new Vault(store, new Sealer([K1], defaultRandomBytes));
    await vault.put('sid_A', 'upstream', tokens, 60_000);
    await vault.put('sid_A', 'github', { access_token: 'gh' }, 60_000);
    const raw = await store.get(keys.vault('sid_A', 'upstream'));
    expect(raw).toMatch(/^v1\./);
    expect(raw).not.toContain('upstream-at');
    expect(await vault.get('sid_A', 'upstream')).toEqual(tokens);
    expect(await vault.get('sid_A', 'github')).toEqual({ access_token: 'gh' });
    await vault.delete('sid_A', 'github');
    expect(await vault.get('sid_A', 'github')).toBeUndefined();
  });

  it('a record copied to another session or provider does not open', async () => {
    const store = newStore();
    const vault = new Vault(store, new Sealer([K1], defaultRandomBytes));
    await vault.put('sid_A', 'upstream', tokens, 60_000);
    const raw = (await store.get(keys.vault('sid_A', 'upstream')))!;
    await store.set(keys.vault('sid_B', 'upstream'), raw, 60_000);
    await store.set(keys.vault('sid_A', 'other'), raw, 60_000);
    expect(await vault.get('sid_B', 'upstream')).toBeUndefined();
    expect(await vault.get('sid_A', 'other')).toBeUndefined();
    expect(await vault.get('sid_A', 'upstream')).toEqual(tokens);
  });

  it('a tampered record reads as absent', async () => {
    const store = newStore();
    const vault = new Vault(store, new Sealer([K1], defaultRandomBytes));
    await vault.put('sid_A', 'upstream', tokens, 60_000);
    await tamper(store, 'sid_A', 3);
    expect(await vault.get('sid_A', 'upstream')).toBeUndefined();
  });
});

describe('Vault: the cache of opened records', () => {
  const tokens = { access_token: 'upstream-at', refresh_token: 'upstream-rt', expires_at: 1_900_000_000 };

  /** A Sealer that counts how often it decrypts: the real one, observed. */
  function countingSealer() {
    const sealer = new Sealer([K1], defaultRandomBytes);
    const counter = { opens: 0 };
    const open = sealer.open.bind(sealer);
    sealer.open = (sealed: string, aad: string) => {
      counter.opens += 1;
      return open(sealed, aad);
    };
    return { sealer, counter };
  }

  it('opens a record once while the store keeps returning the same sealed value, and hands out a frozen set', async () => {
    const { sealer, counter } = countingSealer();
    const vault = new Vault(newStore(), sealer);
    await vault.put('sid_A', 'upstream', tokens, 60_000);
    const first = await vault.get('sid_A', 'upstream');
    const again = await vault.get('sid_A', 'upstream');
    expect(first).toEqual(tokens);
    expect(again).toBe(first);
    expect(counter.opens).toBe(1);
    expect(Object.isFrozen(first)).toBe(true);
  });

  it('sees a record rewritten or deleted by another instance at once', async () => {
    const store = newStore();
    const { sealer, counter } = countingSealer();
    const mine = new Vault(store, sealer);
    const other = new Vault(store, new Sealer([K1], defaultRandomBytes));
    await mine.put('sid_A', 'upstream', tokens, 60_000);
    expect(await mine.get('sid_A', 'upstream')).toEqual(tokens);
    await other.put('sid_A', 'upstream', { access_token: 'refreshed-at', refresh_token: 'rotated-rt' }, 60_000);
    expect(await mine.get('sid_A', 'upstream')).toEqual({ access_token: 'refreshed-at', refresh_token: 'rotated-rt' });
    expect(counter.opens).toBe(2);
    await other.delete('sid_A', 'upstream');
    expect(await mine.get('sid_A', 'upstream')).toBeUndefined();
  });

  it('a record tampered with after it was opened reads as absent', async () => {
    const store = newStore();
    const vault = new Vault(store, new Sealer([K1], defaultRandomBytes));
    await vault.put('sid_A', 'upstream', tokens, 60_000);
    expect(await vault.get('sid_A', 'upstream')).toEqual(tokens);
    await tamper(store, 'sid_A', 4);
    expect(await vault.get('sid_A', 'upstream')).toBeUndefined();
  });

  it('a value copied from another session is not served from the cache of that session', async () => {
    const store = newStore();
    const vault = new Vault(store, new Sealer([K1], defaultRandomBytes));
    await vault.put('sid_A', 'upstream', tokens, 60_000);
    expect(await vault.get('sid_A', 'upstream')).toEqual(tokens);
    await store.set(keys.vault('sid_B', 'upstream'), (await store.get(keys.vault('sid_A', 'upstream')))!, 60_000);
    expect(await vault.get('sid_B', 'upstream')).toBeUndefined();
  });

  it('is bounded: past its size the oldest record is opened again', async () => {
    const { sealer, counter } = countingSealer();
    const vault = new Vault(newStore(), sealer, 2);
    for (const sid of ['s1', 's2', 's3']) {
      await vault.put(sid, 'upstream', { access_token: `at-${sid}` }, 60_000);
      await vault.get(sid, 'upstream');
    }
    expect(counter.opens).toBe(3);
    await vault.get('s3', 'upstream');
    expect(counter.opens).toBe(3);
    expect(await vault.get('s1', 'upstream')).toEqual({ access_token: 'at-s1' });
    expect(counter.opens).toBe(4);
  });
});

describe('secret and encryptionKey are independent', () => {
  const S2 = 'rotated-signing-secret-0123456789-abcdefghij';
  const E2 = 'rotated-vault-key-0123456789-abcdefghijklmnop';
  const ctxWith = (store: MemoryStore, secret: string[], encryptionKey: string[]) =>
    createContext(
      parseOptions({
        issuer: 'http://127.0.0.1:9/oauth',
        provider: 'http://127.0.0.1:9',
        clientId: 'c',
        secret,
        encryptionKey,
        store,
        logger: recordingLogger().logger,
        registration: { enabled: false },
      }),
    );

  it('rotating one leaves the other working, and removing one breaks only what it protects', async () => {
    const store = newStore();
    const first = ctxWith(store, [TEST_SECRET], [TEST_VAULT_KEY]);
    const { token } = await first.accessTokens.mint({ sub: 'alice', sid: 'sid_1', clientId: 'c', scope: 'openid' });
    await first.vault.put('sid_1', 'upstream', { access_token: 'up' }, 60_000);

    const newSecret = ctxWith(store, [S2], [TEST_VAULT_KEY]); // signing secret replaced outright
    await expect(newSecret.accessTokens.verify(token)).rejects.toMatchObject({ error: 'invalid_token' });
    expect(await newSecret.vault.get('sid_1', 'upstream')).toEqual({ access_token: 'up' });

    const newKey = ctxWith(store, [TEST_SECRET], [E2]); // vault key replaced outright
    await expect(newKey.accessTokens.verify(token)).resolves.toMatchObject({ sub: 'alice' });
    expect(await newKey.vault.get('sid_1', 'upstream')).toBeUndefined();

    const sameString = ctxWith(store, [TEST_VAULT_KEY], [TEST_VAULT_KEY]); // even the same string keys two different things
    const minted = await sameString.accessTokens.mint({ sub: 'a', sid: 's', clientId: 'c', scope: '' });
    expect(sameString.sealer.seal('x', 'a').split('.')[1]).not.toBe(
      JSON.parse(Buffer.from(minted.token.split('.')[0]!, 'base64url').toString()).kid,
    );
  });
});
