import { describe, expect, it } from '@jest/globals';
import request from 'supertest';
import type { ErrorRequestHandler } from 'express';
import { MemoryStore, StoreUnavailableError } from '../../lib/index.js';
import { proxyApp } from '../helpers/proxy.js';
import { pkce } from '../helpers/oauth-flow.js';

/** A MemoryStore whose browser-session reads can be made to fail, and which records deletes. */
class FlakySessionReads extends MemoryStore {
  failReads = false;
  readonly deletes: string[] = [];
  readonly written = new Set<string>();
  override async set(key: string, value: string, ttlMs: number): Promise<void> {
    this.written.add(key);
    return super.set(key, value, ttlMs);
  }
  override async get(key: string): Promise<string | undefined> {
    if (this.failReads && /^i[\w-]{12}:bsess:/.test(key)) throw new StoreUnavailableError('injected read failure'); // under the proxy's namespace
    return super.get(key);
  }
  override async delete(key: string): Promise<void> {
    this.deletes.push(key);
    return super.delete(key);
  }
}

/**
 * A store read error deletes nothing, on the browser leg too: express-session
 * (configured with `unset: 'destroy'`) would destroy a session it failed to
 * load as the response ends. The failure is injected in the store (a mock,
 * because a real Redis cannot fail one read and serve the next delete on cue).
 */
describe('browser-session read error', () => {
  it('answers the 503 page, keeps the stored browser session, and lets no error escape after the response', async () => {
    const store = new FlakySessionReads();
    const { app } = proxyApp({ store, consent: { enabled: true } });
    const escaped: unknown[] = [];
    app.use(((err, _req, _res, next) => {
      escaped.push(err);
      next(err);
    }) as ErrorRequestHandler);

    const reg = await request(app)
      .post('/oauth/register')
      .send({ redirect_uris: ['http://localhost:43210/cb'], token_endpoint_auth_method: 'none' });
    expect(reg.status).toBe(201);
    const query = {
      client_id: reg.body.client_id as string,
      redirect_uri: 'http://localhost:43210/cb',
      response_type: 'code',
      code_challenge: pkce().challenge,
      code_challenge_method: 'S256',
      state: 'st',
    };
    const consent = await request(app).get('/oauth/authorize').query(query);
    expect(consent.status).toBe(200); // the consent page; its transaction lives in the browser session
    const cookie = (consent.headers['set-cookie'] as unknown as string[])[0]!.split(';')[0]!;
    const sessionKey = [...store.written].find((k) => /^i[\w-]{12}:bsess:/.test(k)); // under the proxy's namespace
    expect(sessionKey).toBeDefined();

    store.failReads = true;
    const page = await request(app).get('/oauth/authorize').query(query).set('Cookie', cookie);
    expect(page.status).toBe(503);
    expect(page.headers['retry-after']).toMatch(/^\d+$/);
    expect(page.text).toContain('Please try again');
    await new Promise((r) => setImmediate(r));

    store.failReads = false;
    expect(store.deletes).toEqual([]);
    await expect(store.get(sessionKey!)).resolves.toContain('"consent"');
    expect(escaped).toEqual([]);
    await store.close();
  });
});
