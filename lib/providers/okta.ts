import { httpsOrigin, withOverrides, type PresetOptions, type UpstreamPreset } from './preset.js';

/**
 * Options of {@link okta}.
 *
 * @example
 * ```ts
 * providers.okta({ domain: 'example.okta.com', clientId, clientSecret });
 * ```
 */
export interface OktaPresetOptions extends PresetOptions {
  /** Your Okta domain, e.g. `example.okta.com` (or a custom domain). */
  domain: string;
  /** The custom authorization server. Default `'default'`; `null` for the org authorization server. */
  authorizationServerId?: string | null;
  clientId: string;
  clientSecret?: string;
}

/**
 * Okta as the upstream. Okta issues refresh tokens only for the `offline_access` scope (and
 * only when the app allows the Refresh Token grant), so the preset asks for it.
 *
 * @example
 * ```ts
 * createOAuthProxy({ issuer, ...providers.okta({ domain: 'example.okta.com', clientId, clientSecret }), secret, encryptionKey });
 * ```
 */
export function okta(o: OktaPresetOptions): UpstreamPreset {
  const origin = httpsOrigin('okta', 'domain', o.domain);
  const as = o.authorizationServerId === undefined ? 'default' : o.authorizationServerId;
  return withOverrides(
    {
      provider: as === null ? origin : `${origin}/oauth2/${encodeURIComponent(as)}`,
      clientId: o.clientId,
      ...(o.clientSecret ? { clientSecret: o.clientSecret } : {}),
      scopes: ['openid', 'profile', 'email', 'offline_access'],
      providerConfig: { id: 'okta' },
    },
    o,
  );
}
