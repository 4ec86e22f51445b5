import { describe, expect, it } from '@jest/globals';
import session from 'express-session';
import { createOAuthProxy, fromExpressSessionStore, MemoryStore, type Store } from '../../lib/index.js';
import { recordingLogger, TEST_SECRET, TEST_VAULT_KEY } from '../helpers/proxy.js';

function create(store: Store) {
  const logs = recordingLogger();
  const oauth = createOAuthProxy({
    issuer: 'http://127.0.0.1:9/oauth',
    provider: 'http://127.0.0.1:9',
    clientId: 'c',
    clientSecret: 's',
    secret: TEST_SECRET,
    encryptionKey: TEST_VAULT_KEY,
    logger: logs.logger,
    store,
  });
  return { oauth, warnings: logs.lines.filter((l) => l.level === 'warn').map((l) => l.msg ?? '') };
}

describe('startup warning for a store that is not atomic across processes', () => {
  it('warns once with fromExpressSessionStore: codes, rotation and the refresh lock hold within one process only', async () => {
    const { oauth, warnings } = create(fromExpressSessionStore(new session.MemoryStore()));
    const atomic = warnings.filter((w) => w.includes('not atomic across processes'));
    expect(atomic).toHaveLength(1);
    expect(atomic[0]).toMatch(/single-use codes.*refresh-token rotation.*refresh lock.*ONE proxy instance.*RedisStore/);
    await oauth.close();
  });

  it('stays quiet for an atomic store', async () => {
    const store = new MemoryStore();
    const { oauth, warnings } = create(store);
    expect(warnings.filter((w) => w.includes('atomic'))).toEqual([]);
    await oauth.close();
    await store.close();
  });
});
