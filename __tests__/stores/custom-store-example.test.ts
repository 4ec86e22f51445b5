import { describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { StoreUnavailableError } from '../../lib/index.js';
import { runStoreContractTests } from '../../lib/testing/index.js';
import { ExampleDatabaseStore } from '../../examples/custom-store.js';
import { proxyApp } from '../helpers/proxy.js';

// What adapter authors do with `import { runStoreContractTests } from 'mcp-oauth-proxy/testing'`.
runStoreContractTests('examples/custom-store.ts', async () => ({ store: new ExampleDatabaseStore() }));

describe('examples/custom-store.ts', () => {
  it('while disconnected: available is false, every operation rejects with StoreUnavailableError, and nothing is deleted', async () => {
    const store = new ExampleDatabaseStore();
    await store.set('code:abc', 'record', 60_000);
    await store.add('lock:{s}:p', 'owner', 60_000);
    store.setConnected(false);
    expect(store.available).toBe(false);
    const operations: Array<[string, () => Promise<unknown>]> = [
      ['get', () => store.get('code:abc')],
      ['set', () => store.set('k', 'v', 1_000)],
      ['add', () => store.add('k', 'v', 1_000)],
      ['take', () => store.take('code:abc')],
      ['delete', () => store.delete('code:abc')],
      ['deleteIf', () => store.deleteIf('lock:{s}:p', 'owner')],
      ['renewIf', () => store.renewIf('lock:{s}:p', 'owner', 1_000)],
      ['ping', () => store.ping()],
    ];
    for (const [name, operation] of operations) {
      const error = await operation().then(
        () => new Error(`${name} resolved`),
        (err: unknown) => err,
      );
      expect([name, error]).toEqual([name, expect.any(StoreUnavailableError)]);
    }
    store.setConnected(true);
    await expect(store.take('code:abc')).resolves.toBe('record');
    await expect(store.get('lock:{s}:p')).resolves.toBe('owner');
    await expect(store.get('k')).resolves.toBeUndefined();
  });

  it('rejects a bad TTL with a TypeError, not as an outage', async () => {
    await expect(new ExampleDatabaseStore().set('k', 'v', 0)).rejects.toThrow(TypeError);
  });

  it('plugs into the proxy: a disconnected database turns into 503, never 401', async () => {
    const store = new ExampleDatabaseStore();
    const { app, oauth } = proxyApp({ store });
    await expect(oauth.ready()).resolves.toMatchObject({ store: 'ok' });
    store.setConnected(false);
    const mcp = await request(app).post('/mcp').set('Authorization', 'Bearer any-token').send({});
    expect(mcp.status).toBe(503);
    expect(mcp.headers['retry-after']).toMatch(/^\d+$/);
    expect(mcp.body.error).toBe('temporarily_unavailable');
    const register = await request(app)
      .post('/oauth/register')
      .send({ redirect_uris: ['http://localhost:4000/cb'] });
    expect(register.status).toBe(503);
    await expect(oauth.ready()).resolves.toMatchObject({ ready: false, store: 'unavailable' });
    await oauth.close();
  });
});
