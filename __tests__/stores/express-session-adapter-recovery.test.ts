import { describe, expect, it } from '@jest/globals';
import session from 'express-session';
import request from 'supertest';
import { fromExpressSessionStore } from '../../lib/index.js';
import { ADAPTER_PROBE_INTERVAL_MS } from '../../lib/stores/express-session-adapter.js';
import { proxyApp } from '../helpers/proxy.js';
import { waitFor } from '../helpers/redis.js';

/** An express-session MemoryStore whose backend "goes away" on demand (a mock: the outage is the point). */
function outageStore() {
  const inner = new session.MemoryStore();
  let down = false;
  const refused = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
  const calls = { get: 0 };
  const store = Object.assign(Object.create(inner) as session.Store, {
    get: (sid: string, cb: (err: unknown, s?: session.SessionData | null) => void) => {
      calls.get += 1;
      return down ? cb(refused()) : inner.get(sid, cb);
    },
    set: (sid: string, s: session.SessionData, cb?: (err?: unknown) => void) => (down ? cb?.(refused()) : inner.set(sid, s, cb)),
    destroy: (sid: string, cb?: (err?: unknown) => void) => (down ? cb?.(refused()) : inner.destroy(sid, cb)),
  });
  return {
    store,
    calls,
    setDown: (value: boolean) => {
      down = value;
    },
  };
}

describe('fromExpressSessionStore after an outage', () => {
  it('becomes available again by itself, although requireSession sends it no traffic while it is down', async () => {
    expect(ADAPTER_PROBE_INTERVAL_MS).toBe(1_000);
    const backend = outageStore();
    const store = fromExpressSessionStore(backend.store);
    const { app, oauth } = proxyApp({ store });

    backend.setDown(true);
    expect(
      (
        await request(app)
          .post('/oauth/register')
          .send({ redirect_uris: ['http://localhost:4000/cb'] })
      ).status,
    ).toBe(503);
    expect(store.available).toBe(false);
    const mcp = await request(app).post('/mcp').set('Authorization', 'Bearer not-a-token').send({});
    expect(mcp.status).toBe(503);

    backend.setDown(false);
    const readsBefore = backend.calls.get;
    await waitFor(() => store.available, 'the adapter noticed the backend is back');
    expect(backend.calls.get).toBeGreaterThan(readsBefore); // found out by its own probe
    expect((await request(app).post('/mcp').set('Authorization', 'Bearer not-a-token').send({})).status).toBe(401);

    await store.close?.();
    await oauth.close();
  });
});
