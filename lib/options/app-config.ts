import type { ProviderConfig } from './provider.js';

/**
 * Upstream refresh settings.
 *
 * @example
 * ```ts
 * createOAuthProxy({ ...options, refresh: { enabled: true, skewSeconds: 120 } });
 * ```
 */
export interface RefreshConfig {
  /** Refresh upstream access tokens on demand. Default: `true`. */
  enabled?: boolean;
  /** Refresh when the upstream token expires within this many seconds. Default: 60. */
  skewSeconds?: number;
}

/**
 * One app of local mode: an upstream IdP and the proxy scope that stands for it.
 * Presets spread in: `{ id: 'github', name: 'GitHub', ...providers.github({ clientId, clientSecret }) }`.
 *
 * @example
 * ```ts
 * const erp: AppConfig = { id: 'erp', name: 'ERP', provider: 'https://erp-idp.example.com', clientId: 'mcp', scopes: ['openid', 'offline_access'] };
 * ```
 */
export interface AppConfig {
  /** The app id: its provider id for `getToken(id)`, `requireSession({ app })` and `?app=`. 1-64 of `A-Z a-z 0-9 . _ -`. */
  id: string;
  /** The app's name for people (consent page). Default: the id. */
  name?: string;
  /** One line on what the app is, for the consent page. */
  description?: string;
  /** The app's upstream IdP base URL (as the top-level `provider` of remote mode). */
  provider: string;
  /** The proxy's client id at this app's IdP. Omit it to let the proxy register itself where the IdP allows it. */
  clientId?: string;
  /** The proxy's client secret at this app's IdP. */
  clientSecret?: string;
  /** Scopes requested from this app's IdP (upstream scopes, never the proxy's). Default: `['openid']`. */
  scopes?: string[];
  /** Endpoint overrides and IdP quirks, as in remote mode. `providerConfig.id` must be absent or equal `id`. */
  providerConfig?: ProviderConfig;
  /** Refresh settings of this app. Default: the top-level `refresh`. */
  refresh?: RefreshConfig;
  /** Must be signed in at the first authorization; cannot be skipped. Default: `false`. */
  required?: boolean;
  /** The proxy scope that stands for this app (in tokens, metadata and challenges). Default: the id. */
  scope?: string;
}

/**
 * Progressive authorization (local mode).
 *
 * @example
 * ```ts
 * createOAuthProxy({ ...localOptions, incrementalAuth: { enabled: true } });
 * ```
 */
export interface IncrementalAuthConfig {
  /** Let people skip apps that are not required and link them later (step-up, `?app=`). Default: `false`. */
  enabled?: boolean;
}
