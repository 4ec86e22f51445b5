import { httpsOrigin, withOverrides, type PresetOptions, type UpstreamPreset } from './preset.js';

/**
 * Options of {@link auth0}.
 *
 * @example
 * ```ts
 * providers.auth0({ domain: 'example.us.auth0.com', audience: 'https://api.example.com', clientId, clientSecret });
 * ```
 */
export interface Auth0PresetOptions extends PresetOptions {
  /** Your Auth0 domain, e.g. `example.us.auth0.com` (or a custom domain). */
  domain: string;
  /** The API identifier the upstream access token is for. Without it Auth0 issues an opaque token good only for /userinfo. */
  audience?: string;
  clientId: string;
  clientSecret?: string;
}

/**
 * Auth0 as the upstream. Auth0 issues a refresh token only for `offline_access` (with "Allow
 * Offline Access" on the API), and an access token for your API only when `audience` is sent.
 * Auth0's issuer ends with a slash (`https://example.us.auth0.com/`).
 *
 * @example
 * ```ts
 * createOAuthProxy({ issuer, ...providers.auth0({ domain, audience: 'https://api.example.com', clientId, clientSecret }), secret, encryptionKey });
 * ```
 */
export function auth0(o: Auth0PresetOptions): UpstreamPreset {
  const origin = httpsOrigin('auth0', 'domain', o.domain);
  return withOverrides(
    {
      provider: `${origin}/`,
      clientId: o.clientId,
      ...(o.clientSecret ? { clientSecret: o.clientSecret } : {}),
      scopes: ['openid', 'profile', 'email', 'offline_access'],
      providerConfig: {
        id: 'auth0',
        // Auth0's regular web applications default to credentials in the body.
        ...(o.clientSecret ? { tokenEndpointAuthMethod: 'client_secret_post' as const } : {}),
        ...(o.audience ? { authorizeParams: { audience: o.audience } } : {}),
      },
    },
    o,
  );
}
