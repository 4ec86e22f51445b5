/**
 * Internal: a Map with a bound on its size. At the bound, `set` evicts the
 * oldest entry. `get` moves a hit to the recent end (least recently used
 * eviction); `peek` reads without moving it, for hot paths where insertion
 * order is a good enough approximation.
 */
export class BoundedLru<K, V> {
  readonly #map = new Map<K, V>();
  readonly #max: number;

  constructor(max: number) {
    if (!Number.isSafeInteger(max) || max < 0) throw new TypeError('BoundedLru: "max" must be a non-negative integer');
    this.#max = max;
  }

  get size(): number {
    return this.#map.size;
  }

  /** The value, moved to the recent end. */
  get(key: K): V | undefined {
    const value = this.#map.get(key);
    if (value === undefined) return undefined;
    this.#map.delete(key);
    this.#map.set(key, value);
    return value;
  }

  /** The value, without changing its place. */
  peek(key: K): V | undefined {
    return this.#map.get(key);
  }

  /** Stores the value at the recent end, evicting the oldest entries beyond the bound. With a bound of 0 nothing is kept. */
  set(key: K, value: V): void {
    if (this.#max === 0) return;
    this.#map.delete(key);
    while (this.#map.size >= this.#max) this.#map.delete(this.#map.keys().next().value as K);
    this.#map.set(key, value);
  }

  delete(key: K): boolean {
    return this.#map.delete(key);
  }

  /** Deletes every entry the predicate accepts. */
  deleteWhere(predicate: (value: V, key: K) => boolean): void {
    for (const [k, v] of this.#map) if (predicate(v, k)) this.#map.delete(k);
  }
}
