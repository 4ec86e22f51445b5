import { describe, it, expect } from '@jest/globals';
import { normalisingFetch, toTokenSet, DEFERRED_ID_TOKEN } from '../../lib/upstream/token-response.js';

const answering = (body: string, contentType: string, status = 200) =>
  (async () => new Response(body, { status, headers: { 'content-type': contentType } })) as unknown as typeof fetch;
const post = { method: 'POST', body: 'grant_type=authorization_code' };

describe('token-response normalisation', () => {
  it('reads a form-encoded body as JSON, numeric members as numbers', async () => {
    const f = normalisingFetch(
      answering(
        'access_token=gho_x&expires_in=28800&refresh_token=ghr_y&refresh_token_expires_in=15811200&scope=repo%2Cgist&token_type=bearer',
        'application/x-www-form-urlencoded; charset=utf-8',
      ),
    );
    const res = await f('http://idp/token', post);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.json()).toEqual({
      access_token: 'gho_x',
      expires_in: 28800,
      refresh_token: 'ghr_y',
      refresh_token_expires_in: 15811200,
      scope: 'repo,gist',
      token_type: 'bearer',
    });
  });

  it('gives an error delivered with HTTP 200 an error status, and GitHub codes their RFC 6749 meaning', async () => {
    const grant = await normalisingFetch(
      answering('error=bad_refresh_token&error_description=expired', 'application/x-www-form-urlencoded'),
    )('http://idp/token', post);
    expect(grant.status).toBe(400);
    expect(await grant.json()).toEqual({ error: 'invalid_grant', error_description: 'expired' });
    const client = await normalisingFetch(
      answering(JSON.stringify({ error: 'incorrect_client_credentials' }), 'application/json; charset=utf-8'),
    )('http://idp/token', post);
    expect(client.status).toBe(401);
    expect(((await client.json()) as { error: string }).error).toBe('invalid_client');
  });

  it('leaves standard answers, non-POST requests and unparsable bodies alone', async () => {
    const ok = await normalisingFetch(
      answering(JSON.stringify({ access_token: 'a', token_type: 'Bearer', expires_in: 60 }), 'application/json'),
    )('http://idp/token', post);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ access_token: 'a', token_type: 'Bearer', expires_in: 60 });
    const get = await normalisingFetch(answering('error=x', 'application/x-www-form-urlencoded'))('http://idp/userinfo', { method: 'GET' });
    expect(await get.text()).toBe('error=x');
    const broken = await normalisingFetch(answering('{not json', 'application/json', 502))('http://idp/token', post);
    expect(broken.status).toBe(502);
    expect(await broken.text()).toBe('{not json');
  });

  it('moves an id_token aside only when asked (templated issuers)', async () => {
    const body = JSON.stringify({ access_token: 'a', token_type: 'Bearer', id_token: 'h.p.s' });
    expect(await (await normalisingFetch(answering(body, 'application/json'))('http://idp/token', post)).json()).toHaveProperty(
      'id_token',
      'h.p.s',
    );
    const deferred = (await (
      await normalisingFetch(answering(body, 'application/json'), { deferIdToken: true })('http://idp/token', post)
    ).json()) as Record<string, unknown>;
    expect(deferred.id_token).toBeUndefined();
    expect(deferred[DEFERRED_ID_TOKEN]).toBe('h.p.s');
  });

  it('takes the refresh expiry from refresh_token_expires_in (GitHub) or refresh_expires_in (Keycloak; 0 = none)', () => {
    const clock = () => 1_000_000_000;
    const base = { access_token: 'a', token_type: 'bearer' as Lowercase<string>, refresh_token: 'r', expires_in: 300 };
    expect(toTokenSet({ ...base, refresh_token_expires_in: 15811200 } as never, clock)).toMatchObject({
      expires_at: 1_000_300,
      refresh_expires_at: 1_000_000 + 15811200,
    });
    expect(toTokenSet({ ...base, refresh_expires_in: 1800 } as never, clock).refresh_expires_at).toBe(1_001_800);
    expect(toTokenSet({ ...base, refresh_expires_in: 0 } as never, clock).refresh_expires_at).toBeUndefined();
  });
});
