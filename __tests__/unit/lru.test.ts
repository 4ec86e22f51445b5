import { describe, expect, it } from '@jest/globals';
import { BoundedLru } from '../../lib/util/lru.js';

describe('BoundedLru', () => {
  it('evicts the least recently used entry at the bound; get moves a hit, peek does not', () => {
    const lru = new BoundedLru<string, number>(3);
    lru.set('a', 1);
    lru.set('b', 2);
    lru.set('c', 3);
    expect(lru.get('a')).toBe(1);
    expect(lru.peek('b')).toBe(2);
    lru.set('d', 4);
    expect(lru.size).toBe(3);
    expect(lru.peek('b')).toBeUndefined();
    expect([lru.peek('a'), lru.peek('c'), lru.peek('d')]).toEqual([1, 3, 4]);
  });

  it('keeps nothing with a bound of 0 and refuses a bad bound', () => {
    const lru = new BoundedLru<string, number>(0);
    lru.set('a', 1);
    expect(lru.size).toBe(0);
    expect(() => new BoundedLru(-1)).toThrow(/"max"/);
    expect(() => new BoundedLru(1, { promoteAfter: 0.5 })).toThrow(/"promoteAfter"/);
  });

  it('evicts in insertion order across deletes, re-inserts and sweeps (one eviction cursor)', () => {
    const lru = new BoundedLru<number, number>(100);
    const reference: number[] = [];
    const touch = (k: number) => {
      const at = reference.indexOf(k);
      if (at >= 0) reference.splice(at, 1);
      reference.push(k);
      if (reference.length > 100) reference.shift();
    };
    for (let i = 0; i < 5_000; i++) {
      const k = (i * 37) % 400;
      if (i % 7 === 0) {
        lru.delete(k);
        const at = reference.indexOf(k);
        if (at >= 0) reference.splice(at, 1);
      } else if (i % 5 === 0) {
        if (lru.get(k) !== undefined) touch(k);
      } else {
        lru.set(k, i);
        touch(k);
      }
      if (i % 1_000 === 999) lru.deleteWhere(() => false);
    }
    expect(lru.size).toBe(reference.length);
    for (const k of reference) expect(lru.peek(k)).toBeDefined();
  });

  it('moves a read entry only once more than promoteAfter entries were put after it', () => {
    const lru = new BoundedLru<string, number>(4, { promoteAfter: 1 });
    for (const k of ['a', 'b', 'c', 'd']) lru.set(k, 0);
    lru.get('c'); // one entry (d) put after it: 1 ≤ 1, stays
    lru.get('a'); // three put after it: moved
    lru.set('e', 0);
    expect(lru.peek('b')).toBeUndefined();
    lru.set('f', 0);
    expect(lru.peek('c')).toBeUndefined();
    expect(lru.peek('a')).toBe(0);
  });

  it('expires entries at expiresAt, and lets an entry change its value and expiry in place', () => {
    const lru = new BoundedLru<string, string>(10);
    lru.set('k', 'v', 1_000);
    lru.set('forever', 'x');
    expect(lru.get('k', 999)).toBe('v');
    const entry = lru.entry('k', 999);
    expect(entry).toMatchObject({ value: 'v', expiresAt: 1_000 });
    entry!.value = 'w';
    entry!.expiresAt = 2_000;
    expect(lru.peek('k', 1_500)).toBe('w');
    expect(lru.get('k')).toBe('w'); // without `now`, nothing is expired
    lru.deleteExpired(1_999);
    expect(lru.size).toBe(2);
    expect(lru.get('k', 2_000)).toBeUndefined();
    expect(lru.size).toBe(1);
    lru.deleteExpired(Number.MAX_SAFE_INTEGER);
    expect(lru.peek('forever')).toBe('x');
  });
});
