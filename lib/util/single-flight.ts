/**
 * Internal: at most one running call per key. Callers asking for a key whose
 * call is still running share its promise; the key is free again once it
 * settles, whatever the outcome.
 */
export class SingleFlight<K, V> {
  readonly #running = new Map<K, Promise<V>>();

  /** Runs `fn` for `key`, or joins the call already running for it. */
  run(key: K, fn: () => Promise<V>): Promise<V> {
    let p = this.#running.get(key);
    if (!p) {
      p = fn().finally(() => this.#running.delete(key));
      this.#running.set(key, p);
    }
    return p;
  }

  /** Number of calls running (bounded by the number of distinct keys in flight). */
  get size(): number {
    return this.#running.size;
  }
}
