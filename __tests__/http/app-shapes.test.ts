import { describe, it, expect, afterAll } from '@jest/globals';
import express, { type Express } from 'express';
import request from 'supertest';
import { createMcpExpressApp } from '@modelcontextprotocol/express';
import { createOAuthProxy, type OAuthProxy } from '../../lib/index.js';
import { TEST_SECRET, TEST_VAULT_KEY, recordingLogger } from '../helpers/proxy.js';

/**
 * The proxy mounted the ways users mount it: a plain express() app, an app with
 * its own app-wide body parsers, and the MCP SDK v2's createMcpExpressApp()
 * (host and Origin validation plus an app-wide express.json() ahead of our routes).
 */
const proxies: OAuthProxy[] = [];
afterAll(async () => {
  for (const p of proxies) await p.close();
});

function mount(app: Express): Express {
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
  });
  proxies.push(oauth);
  app.use(oauth.wellKnown);
  app.use('/oauth', oauth);
  return app;
}

const shapes: Array<[string, () => Express]> = [
  ['plain express()', () => mount(express())],
  [
    'express() with app-wide express.json({ limit: "1mb" }) and express.urlencoded()',
    () => {
      const app = express();
      app.use(express.json({ limit: '1mb' }));
      app.use(express.urlencoded({ extended: false, limit: '1mb' }));
      return mount(app);
    },
  ],
  ['createMcpExpressApp() of @modelcontextprotocol/express 2.x', () => mount(createMcpExpressApp({ jsonLimit: '1mb' }))],
];

const metadata = (extra = {}) => ({
  redirect_uris: ['http://localhost:3333/callback'],
  token_endpoint_auth_method: 'none',
  client_name: 'shape test',
  ...extra,
});

describe.each(shapes)('%s', (_name, make) => {
  const app = make();

  it('registration keeps its 16 KB body cap, even when an app-wide parser read the body first', async () => {
    await request(app).post('/oauth/register').send(metadata()).expect(201);
    const big = await request(app)
      .post('/oauth/register')
      .send(metadata({ software_statement_padding: 'x'.repeat(20 * 1024) }));
    expect(big.status).toBe(413);
    expect(big.body.error).toBe('invalid_request');
    // Chunked (no Content-Length): the cap still holds.
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    try {
      const body = new TextEncoder().encode(JSON.stringify(metadata({ software_statement_padding: 'x'.repeat(20 * 1024) })));
      const stream = new ReadableStream({
        start(c) {
          c.enqueue(body.subarray(0, 1000));
          c.enqueue(body.subarray(1000));
          c.close();
        },
      });
      const { port } = server.address() as { port: number };
      const res = await fetch(`http://127.0.0.1:${port}/oauth/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: stream,
        duplex: 'half',
      } as RequestInit);
      expect(res.status).toBe(413);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it('the token endpoint keeps its 8 KB cap behind an app-wide urlencoded parser', async () => {
    const res = await request(app)
      .post('/oauth/token')
      .type('form')
      .send({ grant_type: 'refresh_token', refresh_token: 'x'.repeat(10 * 1024) });
    expect(res.status).toBe(413);
  });

  it('the token endpoint reads a form body whose Content-Type is a media-type list containing the form type (Inspector 1.x)', async () => {
    const reg = await request(app).post('/oauth/register').send(metadata()).expect(201);
    const res = await request(app)
      .post('/oauth/token')
      .set('Content-Type', 'application/json, application/x-www-form-urlencoded')
      .send(
        new URLSearchParams({ grant_type: 'refresh_token', refresh_token: 'mop_rt_unknown', client_id: reg.body.client_id }).toString(),
      );
    // The client was found and authenticated: the refresh token itself is what is wrong.
    expect({ status: res.status, error: res.body.error }).toEqual({ status: 400, error: 'invalid_grant' });
  });

  it('any other Content-Type is a 400 naming it, never invalid_client', async () => {
    const reg = await request(app).post('/oauth/register').send(metadata()).expect(201);
    const json = await request(app)
      .post('/oauth/token')
      .send({ grant_type: 'refresh_token', refresh_token: 'x', client_id: reg.body.client_id });
    expect(json.status).toBe(400);
    expect(json.body.error).toBe('invalid_request');
    expect(json.body.error_description).toContain('Content-Type must be application/x-www-form-urlencoded; got "application/json"');
    const text = await request(app).post('/oauth/revoke').set('Content-Type', 'text/plain').send('token=x');
    expect({ status: text.status, error: text.body.error }).toEqual({ status: 400, error: 'invalid_request' });
    expect(text.body.error_description).toContain('"text/plain"');
  });

  it.each([
    '/.well-known/openid-configuration/oauth',
    '/.well-known/openid-configuration',
    '/oauth/.well-known/openid-configuration',
    '/.well-known/oauth-authorization-server',
  ])('the 404 of %s carries CORS, so browser clients see the 404 instead of a CORS error', async (path) => {
    const res = await request(app).get(path).set('Origin', 'http://localhost:6274');
    expect(res.status).toBe(404);
    expect(res.headers['access-control-allow-origin']).toBe('*');
    const pre = await request(app)
      .options(path)
      .set('Origin', 'http://localhost:6274')
      .set('Access-Control-Request-Method', 'GET')
      .set('Access-Control-Request-Headers', 'mcp-protocol-version');
    expect(pre.status).toBe(204);
    expect(pre.headers['access-control-allow-origin']).toBe('*');
    expect(pre.headers['access-control-allow-headers']).toMatch(/MCP-Protocol-Version/i);
  });
});
