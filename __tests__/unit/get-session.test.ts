import { describe, it, expect, afterAll } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import express from 'express';
import request from 'supertest';
import { SignJWT } from 'jose';
import { createOAuthProxy, getSession, type ToolSession } from '../../lib/index.js';
import { TEST_SECRET, TEST_VAULT_KEY, recordingLogger } from '../helpers/proxy.js';

/**
 * getSession(): one typed way to the session from a v2 tool's ctx (ctx.http.authInfo), a v1
 * tool's extra (extra.authInfo) and a request (req.auth). The SDK end-to-end suites call it
 * from real tools; here each shape is handed the real req.auth that requireSession() built.
 */
const oauth = createOAuthProxy({
  issuer: 'http://127.0.0.1:9/oauth',
  provider: 'http://127.0.0.1:9',
  clientId: 'p',
  clientSecret: 's',
  secret: TEST_SECRET,
  encryptionKey: TEST_VAULT_KEY,
  logger: recordingLogger().logger,
  consent: { enabled: false },
});
afterAll(async () => {
  await oauth.close();
});

async function mint(): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    iss: 'http://127.0.0.1:9/oauth',
    aud: 'http://127.0.0.1:9/mcp',
    sub: 'alice',
    sid: 'sid_1',
    client_id: 'c1',
    scope: 'openid email',
    iat: now,
    exp: now + 600,
    jti: randomUUID(),
    upc: { sub: 'alice', email: 'alice@example.com' },
  })
    .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' })
    .sign(new TextEncoder().encode(TEST_SECRET));
}

describe('getSession()', () => {
  it('reads the same session from req, { authInfo } (v1 extra) and { http: { authInfo } } (v2 ctx)', async () => {
    const seen: ToolSession[] = [];
    const app = express();
    app.all('/mcp', oauth.requireSession(), (req, res) => {
      const auth = (req as unknown as { auth: unknown }).auth as never;
      seen.push(getSession(req), getSession({ authInfo: auth }), getSession({ http: { authInfo: auth } }));
      res.end();
    });
    await request(app)
      .post('/mcp')
      .set('Authorization', `Bearer ${await mint()}`)
      .expect(200);
    expect(seen).toHaveLength(3);
    for (const s of seen) {
      expect(s).toMatchObject({
        sub: 'alice',
        sid: 'sid_1',
        clientId: 'c1',
        scopes: ['openid', 'email'],
        claims: { email: 'alice@example.com' },
      });
      expect(typeof s.expiresAt).toBe('number');
      expect(typeof s.upstreamTokens.getToken).toBe('function');
    }
  });

  it('throws a TypeError that says what to do when there is no session (route not behind requireSession())', () => {
    expect(() => getSession({})).toThrow(TypeError);
    expect(() => getSession({ http: {} })).toThrow(/protect the MCP route with requireSession\(\)/);
    expect(() => getSession({ authInfo: { token: 't', clientId: 'c', scopes: [], extra: { sub: 'x' } } })).toThrow(
      /no mcp-oauth-proxy session/,
    );
  });
});
