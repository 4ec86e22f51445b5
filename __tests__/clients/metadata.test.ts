import { describe, expect, it } from '@jest/globals';
import { InvalidClientMetadataError, InvalidRedirectUriError } from '../../lib/errors.js';
import { parseClientMetadata } from '../../lib/clients/metadata.js';

const base = { redirect_uris: ['https://claude.ai/api/mcp/auth_callback'] };

function error(input: unknown, options?: Parameters<typeof parseClientMetadata>[1]): Error {
  try {
    parseClientMetadata(input, options);
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected parseClientMetadata to throw');
}

describe('parseClientMetadata: real registrations', () => {
  it('applies the RFC 7591 defaults', () => {
    expect(parseClientMetadata(base)).toEqual({
      redirect_uris: ['https://claude.ai/api/mcp/auth_callback'],
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['authorization_code'],
      response_types: ['code'],
    });
  });

  it('accepts a Claude Code style public client', () => {
    const m = parseClientMetadata({
      redirect_uris: ['http://localhost:49152/callback'],
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      client_name: 'Claude Code (my-server)',
    });
    expect(m.token_endpoint_auth_method).toBe('none');
    expect(m.grant_types).toEqual(['authorization_code', 'refresh_token']);
    expect(m.client_name).toBe('Claude Code (my-server)');
  });

  it('accepts Cursor registering cursor:// with application_type web', () => {
    const m = parseClientMetadata({
      redirect_uris: ['cursor://anysphere.cursor-mcp/oauth/callback'],
      application_type: 'web',
      token_endpoint_auth_method: 'none',
    });
    expect(m.application_type).toBe('web');
  });

  it('accepts VS Code with two redirect URIs and the Inspector with client_secret_post', () => {
    expect(parseClientMetadata({ redirect_uris: ['https://vscode.dev/redirect', 'http://127.0.0.1:33418/'] }).redirect_uris).toHaveLength(
      2,
    );
    expect(parseClientMetadata({ ...base, token_endpoint_auth_method: 'client_secret_post' }).token_endpoint_auth_method).toBe(
      'client_secret_post',
    );
  });

  it('keeps the optional fields, drops unknown ones and treats null as absent', () => {
    const m = parseClientMetadata({
      ...base,
      client_name: 'App',
      client_uri: 'https://app.example.com',
      logo_uri: 'https://app.example.com/logo.png',
      tos_uri: 'https://app.example.com/tos',
      policy_uri: 'https://app.example.com/privacy',
      scope: 'openid profile offline_access',
      contacts: ['ops@example.com'],
      software_id: 'app',
      software_version: '1.2.3',
      jwks_uri: 'https://app.example.com/jwks',
      'client_name#fr': 'Appli',
      extra: { nested: true },
      software_statement: null,
    });
    expect(m).toMatchObject({
      client_name: 'App',
      scope: 'openid profile offline_access',
      contacts: ['ops@example.com'],
      software_version: '1.2.3',
    });
    expect(m).not.toHaveProperty('jwks_uri');
    expect(m).not.toHaveProperty('extra');
    expect(m).not.toHaveProperty('client_name#fr');
    expect(parseClientMetadata({ ...base, client_uri: null, client_name: null })).not.toHaveProperty('client_uri');
  });

  it('removes duplicate redirect URIs and grant types', () => {
    const m = parseClientMetadata({
      redirect_uris: ['https://a.example/cb', 'https://a.example/cb'],
      grant_types: ['authorization_code', 'authorization_code'],
    });
    expect(m.redirect_uris).toEqual(['https://a.example/cb']);
    expect(m.grant_types).toEqual(['authorization_code']);
  });
});

describe('parseClientMetadata: redirect_uris', () => {
  it.each([
    [{}, /redirect_uris is required/],
    [{ redirect_uris: [] }, /non-empty array/],
    [{ redirect_uris: 'https://claude.ai/cb' }, /non-empty array/],
    [{ redirect_uris: [42] }, /redirect_uris\[0\] must be a string/],
    [{ redirect_uris: Array.from({ length: 11 }, (_, i) => `https://a.example/cb${i}`) }, /at most 10/],
    [
      { redirect_uris: ['https://a.example/ok', 'javascript:alert(1)'] },
      /redirect_uris\[1\] "javascript:alert\(1\)" uses the refused scheme/,
    ],
    [{ redirect_uris: ['http://example.com/cb'] }, /redirect_uris\[0\].*not loopback/],
    [{ redirect_uris: ['https://claude.ai/cb#'] }, /fragment/],
  ])('refuses %j with invalid_redirect_uri', (input, message) => {
    const e = error(input);
    expect(e).toBeInstanceOf(InvalidRedirectUriError);
    expect(e.message).toMatch(message);
  });

  it('applies allowedRedirectUris', () => {
    const options = { allowedRedirectUris: [/https:\/\/claude\.ai\/.*/] };
    expect(parseClientMetadata(base, options).redirect_uris).toEqual(base.redirect_uris);
    expect(error({ redirect_uris: ['https://vscode.dev/redirect'] }, options).message).toMatch(/allowed redirect URIs/);
  });
});

describe('parseClientMetadata: invalid_client_metadata', () => {
  it.each([
    [null, /must be a JSON object/],
    [[base], /must be a JSON object/],
    ['{"redirect_uris":[]}', /must be a JSON object/],
    [{ ...base, token_endpoint_auth_method: 'private_key_jwt' }, /token_endpoint_auth_method: "private_key_jwt" is not supported/],
    [{ ...base, grant_types: ['client_credentials'] }, /grant_types\[0\]: "client_credentials" is not supported/],
    [{ ...base, grant_types: ['implicit', 'authorization_code'] }, /grant_types\[0\]/],
    [{ ...base, grant_types: ['refresh_token'] }, /grant_types must include "authorization_code"/],
    [{ ...base, grant_types: [] }, /grant_types: must not be empty/],
    [{ ...base, grant_types: 'authorization_code' }, /grant_types: must be an array/],
    [{ ...base, response_types: ['token'] }, /response_types\[0\]: "token" is not supported/],
    [{ ...base, response_types: [] }, /response_types: must not be empty/],
    [{ ...base, application_type: 'desktop' }, /application_type: must be "web" or "native"/],
    [{ ...base, client_name: 'x'.repeat(201) }, /client_name: must be at most 200 characters/],
    [{ ...base, client_name: '' }, /client_name: must not be empty/],
    [{ ...base, client_name: 42 }, /client_name: must be a string/],
    [{ ...base, client_name: 'Claude\u202Eedoc' }, /client_name: must not contain control or bidirectional-override/],
    [{ ...base, client_name: 'a\nb' }, /client_name: must not contain control/],
    [{ ...base, client_uri: 'javascript:alert(1)' }, /client_uri: must be an absolute https URL/],
    [{ ...base, logo_uri: 'http://app.example.com/logo.png' }, /logo_uri: must be an absolute https URL/],
    [{ ...base, tos_uri: 'data:text/html,hi' }, /tos_uri: must be an absolute https URL/],
    [{ ...base, policy_uri: 'https://user@app.example.com/p' }, /policy_uri: must be an absolute https URL/],
    [{ ...base, client_uri: `https://app.example.com/${'a'.repeat(2000)}` }, /client_uri: must be at most 2000 characters/],
    [{ ...base, scope: 'x'.repeat(1001) }, /scope: must be at most 1000 characters/],
    [{ ...base, scope: 'openid  profile' }, /scope: must be space-separated scope tokens/],
    [{ ...base, scope: 'a"b' }, /scope: must be space-separated/],
    [{ ...base, contacts: ['a', 'b', 'c', 'd', 'e', 'f'] }, /contacts: must have at most 5 entries/],
    [{ ...base, contacts: ['x'.repeat(321)] }, /contacts\[0\]: must be at most 320 characters/],
    [{ ...base, contacts: 'ops@example.com' }, /contacts: must be an array/],
    [{ ...base, software_id: 'x'.repeat(201) }, /software_id: must be at most 200/],
    [{ ...base, software_version: 'x'.repeat(201) }, /software_version: must be at most 200/],
  ])('refuses %j', (input, message) => {
    const e = error(input);
    expect(e).toBeInstanceOf(InvalidClientMetadataError);
    expect((e as InvalidClientMetadataError).error).toBe('invalid_client_metadata');
    expect(e.message).toMatch(message);
  });

  it('names every bad field at once', () => {
    const e = error({ ...base, client_name: 7, logo_uri: 'ftp://x/y' });
    expect(e.message).toMatch(/client_name: must be a string; logo_uri: must be an absolute https URL/);
  });

  it('accepts the limits themselves', () => {
    expect(() =>
      parseClientMetadata({
        ...base,
        client_name: 'x'.repeat(200),
        scope: 'x'.repeat(1000),
        contacts: Array(5).fill('y'.repeat(320)),
        software_id: 's'.repeat(200),
        software_version: 'v'.repeat(200),
        client_uri: `https://a.example/${'p'.repeat(1970)}`,
      }),
    ).not.toThrow();
  });
});
