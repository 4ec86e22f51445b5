import { github } from './github.js';
import { google } from './google.js';
import { microsoft } from './microsoft.js';
import { okta } from './okta.js';
import { auth0 } from './auth0.js';
import { keycloak } from './keycloak.js';

export type { UpstreamPreset, PresetOptions } from './preset.js';
export type { GitHubPresetOptions } from './github.js';
export type { GooglePresetOptions } from './google.js';
export type { MicrosoftPresetOptions } from './microsoft.js';
export type { OktaPresetOptions } from './okta.js';
export type { Auth0PresetOptions } from './auth0.js';
export type { KeycloakPresetOptions } from './keycloak.js';
export { MICROSOFT_CONSUMERS_TENANT } from './microsoft.js';

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
