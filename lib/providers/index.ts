import { github } from './github.js';
import { auth0, google, keycloak, microsoft, okta } from './oidc-presets.js';

export type { UpstreamPreset, PresetOptions } from './preset.js';
export type { GitHubPresetOptions } from './github.js';
export type {
  GooglePresetOptions,
  MicrosoftPresetOptions,
  OktaPresetOptions,
  Auth0PresetOptions,
  KeycloakPresetOptions,
} from './oidc-presets.js';
export { MICROSOFT_CONSUMERS_TENANT } from './oidc-presets.js';

/**
 * Presets for well-known IdPs: plain functions that return ordinary options
 * (`provider`, `clientId`, `clientSecret`, `scopes`, `providerConfig`) with the
 * IdP's quirks handled. Spread one into `createOAuthProxy()` (or into an app
 * entry of local mode) and override any field after it, or through the preset's
 * own `scopes` / `providerConfig` arguments.
 *
 * @example
 * ```ts
 * import { createOAuthProxy, providers } from 'mcp-oauth-proxy';
 * createOAuthProxy({ issuer, ...providers.google({ clientId, clientSecret }), secret, encryptionKey });
 * createOAuthProxy({ issuer, ...providers.microsoft({ tenant: 'organizations', clientId, clientSecret }), secret, encryptionKey });
 * ```
 */
export const providers = Object.freeze({ google, microsoft, okta, auth0, keycloak, github });
