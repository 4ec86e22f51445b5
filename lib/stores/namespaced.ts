import { createHash } from 'node:crypto';
import type { Store as SessionStore } from 'express-session';
import type { Store } from './store.js';
import { toSessionStore } from './session-store.js';

/**
 * Internal: the namespace of one proxy in a store it may share with others,
 * derived from its issuer: `i<12 base64url chars of SHA-256(issuer)>:`. Every
 * instance of one deployment has the same issuer, hence the same namespace;
 * two proxies with different issuers (say one per upstream IdP, on one Redis)
 * never see each other's keys.
 */
export function storeNamespace(issuer: string): string {
  return `i${createHash('sha256').update(issuer, 'utf8').digest('base64url').slice(0, 12)}:`;
}

/**
 * Internal: a view of `inner` with every key and pub/sub channel under
 * `namespace`. Without it, two proxies sharing a store would share registered
 * clients, codes, refresh tokens and sessions: a refresh token issued by one
 * could be redeemed at the other, for a session signed in at another IdP.
 * Browser sessions live under the namespace too: `sessionStore(namespace)` of
 * the inner store when it has one (`RedisStore`), else `toSessionStore()` over
 * this view.
 */
/** Internal: a {@link Store} view that always has a browser-session store. */
export type NamespacedStore = Store & { sessionStore(): SessionStore };

export function namespaced(inner: Store, namespace: string): NamespacedStore {
  const k = (key: string) => namespace + key;
  const view: Store = {
    get atomic() {
      return inner.atomic;
    },
    get available() {
      return inner.available;
    },
    get: (key) => inner.get(k(key)),
    set: (key, value, ttlMs) => inner.set(k(key), value, ttlMs),
    add: (key, value, ttlMs) => inner.add(k(key), value, ttlMs),
    take: (key) => inner.take(k(key)),
    delete: (key) => inner.delete(k(key)),
    deleteIf: (key, value) => inner.deleteIf(k(key), value),
    renewIf: (key, value, ttlMs) => inner.renewIf(k(key), value, ttlMs),
    ping: () => inner.ping(),
  };
  if (typeof inner.increment === 'function') view.increment = (key, ttlMs) => inner.increment!(k(key), ttlMs);
  if (typeof inner.publish === 'function') view.publish = (channel, message) => inner.publish!(k(channel), message);
  if (typeof inner.subscribe === 'function') view.subscribe = (channel, listener) => inner.subscribe!(k(channel), listener);
  let sessions: SessionStore | undefined;
  const sessionStore = () => (sessions ??= typeof inner.sessionStore === 'function' ? inner.sessionStore(namespace) : toSessionStore(view));
  return Object.assign(view, { sessionStore });
}
