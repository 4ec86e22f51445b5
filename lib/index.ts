/**
 * mcp-oauth-proxy: a local OAuth 2.1 authorization server for MCP servers that
 * signs people in at your existing identity provider.
 *
 * @packageDocumentation
 */
export { createOAuthProxy, requireSession } from './router.js';
export type { OAuthProxy, ReadyState, StandaloneRequireSessionOptions } from './router.js';
export type { AuthInfo, SessionAuthExtra, UpstreamTokens, RequireSessionOptions } from './resource/require-session.js';
export { getSession } from './resource/get-session.js';
export type { ToolSession, SessionSource } from './resource/get-session.js';
export { validateHostAndOrigin } from './resource/host-origin.js';
export type { HostOriginOptions } from './resource/host-origin.js';
export { providers, MICROSOFT_CONSUMERS_TENANT } from './providers/index.js';
export type {
  UpstreamPreset,
  PresetOptions,
  GitHubPresetOptions,
  GooglePresetOptions,
  MicrosoftPresetOptions,
  OktaPresetOptions,
  Auth0PresetOptions,
  KeycloakPresetOptions,
} from './providers/index.js';
export type { UpstreamTokenSet } from './vault/vault.js';
export type {
  UpstreamProfileInput,
  UpstreamIdentity,
  UpstreamRevocationInput,
  OAuthProxyOptions,
  CommonProxyOptions,
  RemoteModeOptions,
  LocalModeOptions,
  AppConfig,
  IncrementalAuthConfig,
  ProviderConfig,
  ConsentConfig,
  RefreshConfig,
  RegistrationConfig,
  UpstreamRegistrationConfig,
  ClientMetadataDocumentConfig,
  RateLimitConfig,
} from './options.js';
export {
  DEFAULT_ACCESS_TOKEN_TTL,
  DEFAULT_REFRESH_TOKEN_TTL,
  DEFAULT_REFRESH_TOKEN_GRACE_PERIOD,
  DEFAULT_AUTHORIZATION_TTL,
  DEFAULT_CODE_TTL,
  DEFAULT_UNUSED_CLIENT_TTL,
  DEFAULT_CLIENT_TTL,
  DEFAULT_CONSENT_REMEMBER,
  DEFAULT_REFRESH_SKEW,
  MIN_SECRET_BYTES,
  DEFAULT_AUTHORIZE_RATE_LIMIT,
} from './options.js';
export type { Logger } from './logger.js';
export type { Store } from './stores/store.js';
export { StoreUnavailableError } from './stores/store.js';
export { MemoryStore } from './stores/memory.js';
export type { MemoryStoreOptions } from './stores/memory.js';
export { RedisStore } from './stores/redis.js';
export type { RedisStoreOptions } from './stores/redis.js';
export { fromExpressSessionStore } from './stores/express-session-adapter.js';
export { toSessionStore } from './stores/session-store.js';
export {
  escapeHtml,
  renderConsentPage,
  renderErrorPage,
  renderNoticePage,
  errorPageText,
  DEFAULT_SCOPE_DESCRIPTIONS,
  PAGE_SECURITY_HEADERS,
} from './consent/render.js';
export type { ConsentPageModel, ConsentPageRenderer, ConsentApp } from './consent/render.js';
export {
  ProxyError,
  OAuthError,
  InvalidRequestError,
  InvalidClientError,
  InvalidGrantError,
  UnauthorizedClientError,
  UnsupportedGrantTypeError,
  UnsupportedResponseTypeError,
  InvalidScopeError,
  InvalidTargetError,
  AccessDeniedError,
  InvalidRedirectUriError,
  InvalidClientMetadataError,
  InvalidTokenError,
  InsufficientScopeError,
  TooManyRequestsError,
  TemporarilyUnavailableError,
  ServerError,
  ReauthenticationRequiredError,
  AuthorizationRequiredError,
  UpstreamUnavailableError,
} from './errors.js';
export type { OAuthErrorOptions } from './errors.js';
