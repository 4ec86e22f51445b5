import { withOverrides, type PresetOptions, type UpstreamPreset } from './preset.js';
import { UpstreamRefused } from '../upstream/errors.js';

/**
 * Options of {@link google}.
 *
 * @example
 * ```ts
 * providers.google({ clientId: process.env.GOOGLE_CLIENT_ID!, clientSecret: process.env.GOOGLE_CLIENT_SECRET!, hostedDomain: 'example.com' });
 * ```
 */
export interface GooglePresetOptions extends PresetOptions {
  clientId: string;
  clientSecret: string;
  /** Only accounts of this Google Workspace domain: sent as `hd`, and the id_token's `hd` claim is checked (the parameter alone is only a hint). */
  hostedDomain?: string;
}

/**
 * Google as the upstream. Google issues a refresh token only with `access_type=offline`, and
 * only on the first consent unless `prompt=consent` is sent, so the preset sends both. Google
 * has no `offline_access` scope (it refuses it).
 *
 * @example
 * ```ts
 * createOAuthProxy({ issuer, ...providers.google({ clientId, clientSecret }), secret, encryptionKey });
 * ```
 */
export function google(o: GooglePresetOptions): UpstreamPreset {
  const hd = o.hostedDomain;
  return withOverrides(
    {
      provider: 'https://accounts.google.com',
      clientId: o.clientId,
      clientSecret: o.clientSecret,
      scopes: ['openid', 'email', 'profile'],
      providerConfig: {
        id: 'google',
        authorizeParams: { access_type: 'offline', prompt: 'consent', ...(hd ? { hd } : {}) },
        ...(hd
          ? {
              profile: ({ idToken }) => {
                if (!idToken || idToken.hd !== hd)
                  throw new UpstreamRefused('access_denied', `The Google account is not in the hosted domain "${hd}"`);
                return idToken as { sub: string };
              },
            }
          : {}),
      },
    },
    o,
  );
}
