import { github } from './github.js';

export type { UpstreamPreset, PresetOptions } from './preset.js';
export type { GitHubPresetOptions } from './github.js';

/**
 * Presets for well-known IdPs: plain functions that return ordinary options
 * (`provider`, `clientId`, `clientSecret`, `scopes`, `providerConfig`) with the
 * IdP's quirks handled. Spread one into `createOAuthProxy()` and override any field.
 *
 * @example
 * ```ts
 * import { createOAuthProxy, providers } from 'mcp-oauth-proxy';
 * createOAuthProxy({ issuer, ...providers.github({ clientId, clientSecret }), secret, encryptionKey });
 * ```
 */
export const providers = Object.freeze({ github });
