import { withOverrides, type PresetOptions, type UpstreamPreset } from './preset.js';

/**
 * Options of {@link keycloak}.
 *
 * @example
 * ```ts
 * providers.keycloak({ url: 'https://sso.example.com', realm: 'staff', clientId, clientSecret });
 * ```
 */
export interface KeycloakPresetOptions extends PresetOptions {
  /** The server's base URL, e.g. `https://sso.example.com` (with `/auth` for Keycloak before 17). */
  url: string;
  realm: string;
  clientId: string;
  clientSecret?: string;
}

/**
 * Keycloak as the upstream (realm issuer `<url>/realms/<realm>`). Keycloak has no RFC 8707
 * resource indicators; the proxy never sends `resource` upstream. `offline_access` asks for an
 * offline token, which outlives Keycloak's SSO session (an ordinary refresh token dies after
 * "SSO Session Idle", 30 min by default); its `refresh_expires_in` is read as the refresh expiry.
 *
 * @example
 * ```ts
 * createOAuthProxy({ issuer, ...providers.keycloak({ url: 'https://sso.example.com', realm: 'staff', clientId, clientSecret }), secret, encryptionKey });
 * ```
 */
export function keycloak(o: KeycloakPresetOptions): UpstreamPreset {
  if (typeof o.url !== 'string' || !/^https?:\/\//i.test(o.url))
    throw new TypeError('providers.keycloak(options): "url" must be the server\'s base URL, e.g. "https://sso.example.com"');
  if (typeof o.realm !== 'string' || o.realm.length === 0) throw new TypeError('providers.keycloak(options): "realm" is required');
  return withOverrides(
    {
      provider: `${o.url.replace(/\/+$/, '')}/realms/${encodeURIComponent(o.realm)}`,
      clientId: o.clientId,
      ...(o.clientSecret ? { clientSecret: o.clientSecret } : {}),
      scopes: ['openid', 'profile', 'email', 'offline_access'],
      providerConfig: { id: 'keycloak' },
    },
    o,
  );
}
