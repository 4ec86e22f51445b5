import express, { type Express } from 'express';
import { createOAuthProxy, MemoryStore, type OAuthProxy, type OAuthProxyOptions } from '../../lib/index.js';

/** 32+ byte test secrets (never used outside tests). */
export const TEST_SECRET = 'test-signing-secret-0123456789-abcdefghij';
export const TEST_VAULT_KEY = 'test-vault-key-0123456789-abcdefghijklmnop';

/** A logger that records, so tests can assert on warnings and on what is never logged. */
export function recordingLogger() {
  const lines: Array<{ level: string; obj: unknown; msg: string | undefined }> = [];
  const log = (level: string) => (obj: unknown, msg?: string) => {
    lines.push({ level, obj, msg });
  };
  return {
    lines,
    logger: { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') },
    text: () => JSON.stringify(lines),
  };
}

/**
 * An app with the proxy mounted as the README says, for supertest. The upstream
 * URL points at a closed loopback port unless a test overrides it: refusal
 * tests must fail before the upstream is ever contacted.
 */
export function proxyApp(overrides: Partial<OAuthProxyOptions> = {}): { app: Express; oauth: OAuthProxy; store: MemoryStore } {
  const store = (overrides.store as MemoryStore | undefined) ?? new MemoryStore();
  const oauth = createOAuthProxy({
    issuer: 'http://127.0.0.1:9/oauth',
    provider: 'http://127.0.0.1:9',
    clientId: 'proxy-client',
    clientSecret: 'proxy-client-secret',
    secret: TEST_SECRET,
    encryptionKey: TEST_VAULT_KEY,
    logger: recordingLogger().logger,
    consent: { enabled: false },
    registration: { rateLimit: false },
    ...overrides,
    store,
  });
  const app = express();
  app.use(oauth.wellKnown);
  app.use('/oauth', oauth);
  app.all('/mcp', oauth.requireSession(), (req, res) => {
    res.json({ ok: true, sub: (req.auth?.extra as { sub?: string }).sub });
  });
  return { app, oauth, store };
}
