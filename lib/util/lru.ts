/** Options of {@link BoundedLru}. */
export interface BoundedLruOptions {
  /**
   * A read moves a hit to the recent end only once more than this many entries were put there after it.
   * `0` (the default): every read moves it. With a quarter of the bound, an entry read since it was last
   * moved still survives three quarters of the bound in new writes, and a hot entry does not pay a delete
   * and a re-insert (and the map's rehashing) on every read.
   */
  promoteAfter?: number;
}

/** A live entry. Its value and expiry may be changed in place; neither moves it. */
export interface LruEntry<V> {
  value: V;
  /** Expiry, in the caller's clock (`Infinity`: never). */
  expiresAt: number;
}

interface Node<V> extends LruEntry<V> {
  /** The value of the insertion counter when the entry was last put at the recent end. */
  stamp: number;
}

/**
 * Internal: a Map with a bound on its size, in least recently used order, with optional expiry. At the
 * bound, `set` evicts the oldest entry. `get` moves a hit to the recent end (see
 * {@link BoundedLruOptions.promoteAfter}); `peek` reads without moving it, for hot paths where insertion
 * order is a good enough approximation. An entry given an `expiresAt` is gone for a read with `now` at or
 * past it, and {@link deleteExpired} sweeps such entries out.
 */
export class BoundedLru<K, V> {
  readonly #map = new Map<K, Node<V>>();
  readonly #max: number;
  readonly #promoteAfter: number;
  #stamp = 0;
  /**
   * One iterator for every eviction. A Map iterator walks on past the entries deleted and added since its
   * last step, so each deleted slot is passed once; a fresh `keys()` per eviction rescans every slot deleted
   * since the table was last rehashed (about 30 µs per `set` at 40,000 entries). Everything before it is
   * deleted, so its next key is the oldest live one. Dropped when a sweep or the last delete empties
   * slots, so that it does not hold an outgrown table.
   */
  #cursor: Iterator<K> | undefined;

  constructor(max: number, options: BoundedLruOptions = {}) {
    if (!Number.isSafeInteger(max) || max < 0) throw new TypeError('BoundedLru: "max" must be a non-negative integer');
    const { promoteAfter = 0 } = options;
    if (!Number.isSafeInteger(promoteAfter) || promoteAfter < 0)
      throw new TypeError('BoundedLru: "promoteAfter" must be a non-negative integer');
    this.#max = max;
    this.#promoteAfter = promoteAfter;
  }

  get size(): number {
    return this.#map.size;
  }

  /** The live value, moved to the recent end. */
  get(key: K, now?: number): V | undefined {
    return this.entry(key, now)?.value;
  }

  /** The live entry, moved to the recent end; an expired one is deleted. */
  entry(key: K, now = -Infinity): LruEntry<V> | undefined {
    const node = this.#live(key, now);
    if (node && this.#stamp - node.stamp > this.#promoteAfter) {
      this.#map.delete(key);
      node.stamp = ++this.#stamp;
      this.#map.set(key, node);
    }
    return node;
  }

  /** The live value, without changing its place. */
  peek(key: K, now?: number): V | undefined {
    return this.#live(key, now ?? -Infinity)?.value;
  }

  /** Stores the value at the recent end, evicting the oldest entries beyond the bound. With a bound of 0 nothing is kept. */
  set(key: K, value: V, expiresAt = Infinity): void {
    if (this.#max === 0) return;
    this.#map.delete(key);
    while (this.#map.size >= this.#max) this.#evictOldest();
    this.#map.set(key, { value, expiresAt, stamp: ++this.#stamp });
  }

  delete(key: K): boolean {
    const deleted = this.#map.delete(key);
    if (this.#map.size === 0) this.#cursor = undefined;
    return deleted;
  }

  /** Deletes every entry the predicate accepts. */
  deleteWhere(predicate: (value: V, key: K) => boolean): void {
    for (const [k, node] of this.#map) if (predicate(node.value, k)) this.#map.delete(k);
    this.#cursor = undefined;
  }

  /** Deletes every entry expired at `now`. */
  deleteExpired(now: number): void {
    for (const [k, node] of this.#map) if (node.expiresAt <= now) this.#map.delete(k);
    this.#cursor = undefined;
  }

  #live(key: K, now: number): Node<V> | undefined {
    const node = this.#map.get(key);
    if (node === undefined || node.expiresAt > now) return node;
    this.delete(key);
    return undefined;
  }

  #evictOldest(): void {
    let oldest = (this.#cursor ??= this.#map.keys()).next();
    if (oldest.done) oldest = (this.#cursor = this.#map.keys()).next(); // not expected: the map is not empty here
    if (oldest.done) return;
    this.#map.delete(oldest.value);
  }
}
