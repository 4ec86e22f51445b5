/**
 * Error types. Every error the proxy throws on purpose is a {@link ProxyError}
 * with a stable `code`; every error it answers with is an {@link OAuthError}.
 * `lib/http/respond.ts` is the only place that turns errors into responses.
 */
export { ProxyError, OAuthError, type OAuthErrorOptions } from './errors/base.js';
export * from './errors/oauth.js';
export * from './errors/runtime.js';
