import type { OAuthProxyOptions, ProviderConfig } from '../options.js';

/**
 * What every preset returns: ordinary options for one upstream, to spread into
 * `createOAuthProxy()` (or into an app entry of local mode). Any field can be
 * overridden after the spread, or through the preset's own arguments.
 *
 * @example
 * ```ts
 * const upstream: UpstreamPreset = providers.github({ clientId, clientSecret });
 * createOAuthProxy({ issuer, ...upstream, scopes: ['read:user'], secret, encryptionKey });
 * ```
 */
export interface UpstreamPreset {
  provider: string;
  clientId?: string;
  clientSecret?: string;
  scopes: string[];
  providerConfig: ProviderConfig;
}

/**
 * Arguments every preset accepts: the client at the IdP, plus overrides of what the preset sets.
 * `providerConfig` is merged into the preset's (and `authorizeParams` into its parameters); `scopes` replaces.
 *
 * @example
 * ```ts
 * providers.google({ clientId, clientSecret, scopes: ['openid', 'email'], providerConfig: { id: 'google-work' } });
 * ```
 */
export interface PresetOptions {
  /** The client id registered for the proxy at the IdP. */
  clientId?: string;
  clientSecret?: string;
  /** Replaces the preset's scopes. */
  scopes?: string[];
  /** Merged over the preset's `providerConfig`. */
  providerConfig?: ProviderConfig;
}

/** Internal: the preset's options with the caller's overrides on top. */
export function withOverrides(base: UpstreamPreset, o: PresetOptions): UpstreamPreset {
  const out: UpstreamPreset = {
    ...base,
    scopes: o.scopes ? [...o.scopes] : base.scopes,
    providerConfig: {
      ...base.providerConfig,
      ...o.providerConfig,
      ...(base.providerConfig.authorizeParams || o.providerConfig?.authorizeParams
        ? { authorizeParams: { ...base.providerConfig.authorizeParams, ...o.providerConfig?.authorizeParams } }
        : {}),
    },
  };
  if (o.clientId !== undefined) out.clientId = o.clientId;
  if (o.clientSecret !== undefined) out.clientSecret = o.clientSecret;
  return out;
}

/** Internal: `https://` + a bare host name, refusing anything that is not one (a path, a scheme, a port is fine). */
export function httpsOrigin(preset: string, option: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0)
    throw new TypeError(`providers.${preset}(options): "${option}" is required (e.g. "example.okta.com")`);
  const withScheme = /^https?:\/\//i.test(value) ? value : `https://${value}`;
  let u: URL;
  try {
    u = new URL(withScheme);
  } catch {
    throw new TypeError(`providers.${preset}(options): "${option}" must be a host name such as "example.okta.com"`);
  }
  if ((u.pathname !== '/' && u.pathname !== '') || u.search || u.hash)
    throw new TypeError(`providers.${preset}(options): "${option}" must be a host name without a path`);
  return u.origin;
}

/** Internal: keeps `OAuthProxyOptions` and the preset shape in step at compile time. */
export type _PresetFits = UpstreamPreset extends Partial<OAuthProxyOptions> ? true : never;
