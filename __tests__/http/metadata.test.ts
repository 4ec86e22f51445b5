import { describe, it, expect, afterAll } from '@jest/globals';
import request from 'supertest';
import { proxyApp } from '../helpers/proxy.js';

const { app, oauth } = proxyApp();
afterAll(() => oauth.close());

describe('authorization server metadata (RFC 8414)', () => {
  it('is served at the path-inserted well-known URL with the issuer byte for byte', async () => {
    const res = await request(app).get('/.well-known/oauth-authorization-server/oauth').expect(200);
    expect(res.body.issuer).toBe('http://127.0.0.1:9/oauth');
    expect(res.body.authorization_endpoint).toBe('http://127.0.0.1:9/oauth/authorize');
    expect(res.body.token_endpoint).toBe('http://127.0.0.1:9/oauth/token');
    expect(res.body.registration_endpoint).toBe('http://127.0.0.1:9/oauth/register');
    expect(res.body.revocation_endpoint).toBe('http://127.0.0.1:9/oauth/revoke');
    expect(res.body.code_challenge_methods_supported).toEqual(['S256']);
    expect(res.body.token_endpoint_auth_methods_supported).toEqual(
      expect.arrayContaining(['none', 'client_secret_post', 'client_secret_basic']),
    );
    expect(res.body.authorization_response_iss_parameter_supported).toBe(true);
    expect(res.body.client_id_metadata_document_supported).toBe(true);
  });

  it('is also served under the router, identical', async () => {
    const a = await request(app).get('/.well-known/oauth-authorization-server/oauth');
    const b = await request(app).get('/oauth/.well-known/oauth-authorization-server').expect(200);
    expect(b.body).toEqual(a.body);
  });

  it('has no null fields', async () => {
    const res = await request(app).get('/.well-known/oauth-authorization-server/oauth');
    expect(Object.values(res.body).filter((v) => v === null)).toHaveLength(0);
  });

  it('serves no OpenID discovery document (we are not an OP, and a partial one breaks strict clients)', async () => {
    await request(app).get('/.well-known/openid-configuration/oauth').expect(404);
    await request(app).get('/oauth/.well-known/openid-configuration').expect(404);
  });

  it('answers CORS preflight and GET for browser clients', async () => {
    const pre = await request(app)
      .options('/.well-known/oauth-authorization-server/oauth')
      .set('Origin', 'http://localhost:6274')
      .set('Access-Control-Request-Method', 'GET');
    expect(pre.status).toBe(204);
    expect(pre.headers['access-control-allow-origin']).toBe('*');
    const get = await request(app).get('/.well-known/oauth-authorization-server/oauth').set('Origin', 'http://localhost:6274');
    expect(get.headers['access-control-allow-origin']).toBe('*');
  });

  it('omits registration_endpoint when registration is disabled', async () => {
    const { app: app2, oauth: o2 } = proxyApp({ registration: { enabled: false } });
    const res = await request(app2).get('/.well-known/oauth-authorization-server/oauth').expect(200);
    expect(res.body.registration_endpoint).toBeUndefined();
    await request(app2)
      .post('/oauth/register')
      .send({ redirect_uris: ['https://a.example/cb'] })
      .expect(404);
    await o2.close();
  });
});

describe('protected resource metadata (RFC 9728)', () => {
  it('is served at the path form and the root form with resource and authorization_servers', async () => {
    for (const path of ['/.well-known/oauth-protected-resource/mcp', '/.well-known/oauth-protected-resource']) {
      const res = await request(app).get(path).expect(200);
      expect(res.body.resource).toBe('http://127.0.0.1:9/mcp');
      expect(res.body.authorization_servers).toEqual(['http://127.0.0.1:9/oauth']);
    }
  });

  it('follows the resource option', async () => {
    const { app: app2, oauth: o2 } = proxyApp({ resource: 'http://127.0.0.1:9/api/mcp' });
    const res = await request(app2).get('/.well-known/oauth-protected-resource/api/mcp').expect(200);
    expect(res.body.resource).toBe('http://127.0.0.1:9/api/mcp');
    await o2.close();
  });
});

describe('requireSession() challenge', () => {
  it('answers 401 with an absolute resource_metadata and no error when no token was sent', async () => {
    const res = await request(app).post('/mcp').expect(401);
    const h = res.headers['www-authenticate'];
    expect(h).toMatch(/^Bearer /);
    expect(h).toContain('resource_metadata="http://127.0.0.1:9/.well-known/oauth-protected-resource/mcp"');
    expect(h).not.toContain('error=');
    expect(res.headers['access-control-expose-headers']).toMatch(/WWW-Authenticate/i);
  });

  it('answers 401 invalid_token for a garbage token', async () => {
    const res = await request(app).post('/mcp').set('Authorization', 'Bearer not-a-jwt').expect(401);
    expect(res.headers['www-authenticate']).toContain('error="invalid_token"');
    expect(res.headers['www-authenticate']).toContain('resource_metadata=');
  });
});
