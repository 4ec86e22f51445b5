import { describe, it, expect } from '@jest/globals';
import { createOAuthProxy, providers, MICROSOFT_CONSUMERS_TENANT } from '../../lib/index.js';
import { TEST_SECRET, TEST_VAULT_KEY } from '../helpers/proxy.js';

describe('presets are plain options', () => {
  it('each preset is accepted by createOAuthProxy as it is, with no new required option', () => {
    const all = [
      providers.google({ clientId: 'c', clientSecret: 's' }),
      providers.microsoft({ clientId: 'c', clientSecret: 's' }),
      providers.okta({ domain: 'example.okta.com', clientId: 'c' }),
      providers.auth0({ domain: 'example.us.auth0.com', clientId: 'c', clientSecret: 's', audience: 'https://api' }),
      providers.keycloak({ url: 'https://sso.example.com', realm: 'staff', clientId: 'c' }),
      providers.github({ clientId: 'c', clientSecret: 's' }),
    ];
    for (const p of all) {
      const oauth = createOAuthProxy({ issuer: 'https://mcp.example.com/oauth', ...p, secret: TEST_SECRET, encryptionKey: TEST_VAULT_KEY });
      expect(oauth.providerId).toBe(p.providerConfig.id);
      void oauth.close();
    }
  });

  it('overrides: scopes replace, providerConfig and authorizeParams merge, later spreads win', () => {
    const g = providers.google({
      clientId: 'c',
      clientSecret: 's',
      scopes: ['openid'],
      providerConfig: { id: 'g2', authorizeParams: { login_hint: 'a@example.com' } },
    });
    expect(g.scopes).toEqual(['openid']);
    expect(g.providerConfig.id).toBe('g2');
    expect(g.providerConfig.authorizeParams).toEqual({ access_type: 'offline', prompt: 'consent', login_hint: 'a@example.com' });
    expect({ ...providers.okta({ domain: 'example.okta.com', clientId: 'c' }), provider: 'https://other.example.com' }.provider).toBe(
      'https://other.example.com',
    );
  });

  it('microsoft: tenants as GUIDs or keywords, and the issuer each one means', () => {
    expect(() => providers.microsoft({ tenant: 'contoso.onmicrosoft.com', clientId: 'c' })).toThrow('"tenant" must be a tenant id (GUID');
    expect(() => providers.microsoft({ allowedTenants: ['contoso'], clientId: 'c' })).toThrow('"allowedTenants" must list tenant ids');
    const org = providers.microsoft({ clientId: 'c' });
    expect(org.provider).toBe('https://login.microsoftonline.com/organizations/v2.0');
    expect(org.providerConfig).toMatchObject({
      issuer: 'https://login.microsoftonline.com/{tenantid}/v2.0',
      tenants: { deny: [MICROSOFT_CONSUMERS_TENANT] },
    });
    expect(providers.microsoft({ tenant: 'consumers', clientId: 'c' }).providerConfig.issuer).toBe(
      `https://login.microsoftonline.com/${MICROSOFT_CONSUMERS_TENANT}/v2.0`,
    );
    const one = '11111111-1111-4111-8111-111111111111';
    expect(providers.microsoft({ tenant: one, clientId: 'c' }).providerConfig).toMatchObject({
      issuer: `https://login.microsoftonline.com/${one}/v2.0`,
    });
    expect(providers.microsoft({ tenant: one, clientId: 'c' }).providerConfig.tenants).toBeUndefined();
  });

  it('okta, auth0, keycloak, github: where they point, and bad arguments refused', () => {
    expect(providers.okta({ domain: 'example.okta.com', authorizationServerId: null, clientId: 'c' }).provider).toBe(
      'https://example.okta.com',
    );
    expect(() => providers.okta({ domain: 'example.okta.com/oauth2', clientId: 'c' })).toThrow(
      '"domain" must be a host name without a path',
    );
    expect(
      providers.auth0({ domain: 'example.us.auth0.com', clientId: 'c', audience: 'https://api' }).providerConfig.authorizeParams,
    ).toEqual({ audience: 'https://api' });
    expect(providers.keycloak({ url: 'https://sso.example.com/auth/', realm: 'a b', clientId: 'c' }).provider).toBe(
      'https://sso.example.com/auth/realms/a%20b',
    );
    expect(() => providers.keycloak({ url: 'sso.example.com', realm: 'x', clientId: 'c' })).toThrow('"url" must be the server\'s base URL');
    const ghes = providers.github({ clientId: 'c', clientSecret: 's', baseUrl: 'https://github.example.com' });
    expect(ghes.providerConfig).toMatchObject({
      tokenEndpoint: 'https://github.example.com/login/oauth/access_token',
      userInfoEndpoint: 'https://github.example.com/api/v3/user',
      skipDiscovery: true,
    });
  });

  it("google hostedDomain: the id_token's hd claim must match, not only the hint", async () => {
    const p = providers.google({ clientId: 'c', clientSecret: 's', hostedDomain: 'example.com' });
    expect(p.providerConfig.authorizeParams?.hd).toBe('example.com');
    const input = (hd?: string) => ({ tokens: { access_token: 'a' }, idToken: { sub: '1', ...(hd ? { hd } : {}) }, fetch });
    expect(await p.providerConfig.profile!(input('example.com'))).toMatchObject({ sub: '1' });
    expect(() => p.providerConfig.profile!(input('evil.example'))).toThrow('not in the hosted domain "example.com"');
    expect(() => p.providerConfig.profile!(input())).toThrow('not in the hosted domain');
  });
});
