import { OAuthError, type OAuthErrorOptions } from './base.js';

/*
 * One class per RFC error code, so endpoints throw what they mean and callers
 * can test with `instanceof`. Each has the stable `code` `ERR_OAUTH_<ERROR>`.
 */

/**
 * `invalid_request` (400): a parameter is missing, repeated or malformed.
 *
 * @example
 * ```ts
 * throw new InvalidRequestError('code_verifier is required (PKCE)');
 * ```
 */
export class InvalidRequestError extends OAuthError {
  constructor(description: string, options?: OAuthErrorOptions) {
    super('invalid_request', description, 400, options);
  }
}
/**
 * `invalid_client` (401): client authentication failed or the client is unknown.
 *
 * @example
 * ```ts
 * throw new InvalidClientError('Client authentication failed: wrong client secret');
 * ```
 */
export class InvalidClientError extends OAuthError {
  constructor(description: string, options?: OAuthErrorOptions) {
    super('invalid_client', description, 401, options);
  }
}
/**
 * `invalid_grant` (400): the code, verifier or refresh token is invalid, expired or replayed.
 *
 * @example
 * ```ts
 * throw new InvalidGrantError('The authorization code was already used');
 * ```
 */
export class InvalidGrantError extends OAuthError {
  constructor(description: string, options?: OAuthErrorOptions) {
    super('invalid_grant', description, 400, options);
  }
}
/**
 * `unauthorized_client` (400): the client may not use this grant type.
 *
 * @example
 * ```ts
 * throw new UnauthorizedClientError('This client may not use the refresh_token grant');
 * ```
 */
export class UnauthorizedClientError extends OAuthError {
  constructor(description: string, options?: OAuthErrorOptions) {
    super('unauthorized_client', description, 400, options);
  }
}
/**
 * `unsupported_grant_type` (400).
 *
 * @example
 * ```ts
 * throw new UnsupportedGrantTypeError('grant_type must be authorization_code or refresh_token');
 * ```
 */
export class UnsupportedGrantTypeError extends OAuthError {
  constructor(description: string, options?: OAuthErrorOptions) {
    super('unsupported_grant_type', description, 400, options);
  }
}
/**
 * `unsupported_response_type` (400).
 *
 * @example
 * ```ts
 * throw new UnsupportedResponseTypeError('response_type must be "code"');
 * ```
 */
export class UnsupportedResponseTypeError extends OAuthError {
  constructor(description: string, options?: OAuthErrorOptions) {
    super('unsupported_response_type', description, 400, options);
  }
}
/**
 * `invalid_scope` (400).
 *
 * @example
 * ```ts
 * throw new InvalidScopeError('scope must be a subset of the originally granted scope');
 * ```
 */
export class InvalidScopeError extends OAuthError {
  constructor(description: string, options?: OAuthErrorOptions) {
    super('invalid_scope', description, 400, options);
  }
}
/**
 * `invalid_target` (400, RFC 8707): the `resource` is not this server's.
 *
 * @example
 * ```ts
 * throw new InvalidTargetError('resource must be https://mcp.example.com/mcp');
 * ```
 */
export class InvalidTargetError extends OAuthError {
  constructor(description: string, options?: OAuthErrorOptions) {
    super('invalid_target', description, 400, options);
  }
}
/**
 * `access_denied` (403): the person or the upstream IdP refused.
 *
 * @example
 * ```ts
 * throw new AccessDeniedError('The user denied the request');
 * ```
 */
export class AccessDeniedError extends OAuthError {
  constructor(description: string, options?: OAuthErrorOptions) {
    super('access_denied', description, 403, options);
  }
}
/**
 * `invalid_redirect_uri` (400, RFC 7591).
 *
 * @example
 * ```ts
 * throw new InvalidRedirectUriError('redirect_uris[0] uses the refused scheme "javascript:"');
 * ```
 */
export class InvalidRedirectUriError extends OAuthError {
  constructor(description: string, options?: OAuthErrorOptions) {
    super('invalid_redirect_uri', description, 400, options);
  }
}
/**
 * `invalid_client_metadata` (400, RFC 7591).
 *
 * @example
 * ```ts
 * throw new InvalidClientMetadataError('client_name: at most 200 characters');
 * ```
 */
export class InvalidClientMetadataError extends OAuthError {
  constructor(description: string, options?: OAuthErrorOptions) {
    super('invalid_client_metadata', description, 400, options);
  }
}
/**
 * `invalid_token` (401, RFC 6750): the bearer token is missing, malformed, expired or revoked.
 *
 * @example
 * ```ts
 * if (err instanceof InvalidTokenError) res.status(err.status).json(err.toJSON());
 * ```
 */
export class InvalidTokenError extends OAuthError {
  constructor(description: string, options?: OAuthErrorOptions) {
    super('invalid_token', description, 401, options);
  }
}
/**
 * `insufficient_scope` (403, RFC 6750).
 *
 * @example
 * ```ts
 * throw new InsufficientScopeError('This resource requires scope "profile"');
 * ```
 */
export class InsufficientScopeError extends OAuthError {
  constructor(description: string, options?: OAuthErrorOptions) {
    super('insufficient_scope', description, 403, options);
  }
}
/**
 * `too_many_requests` (429).
 *
 * @example
 * ```ts
 * throw new TooManyRequestsError('Too many registrations; retry later', 900);
 * ```
 */
export class TooManyRequestsError extends OAuthError {
  constructor(description: string, retryAfterSeconds: number, options?: OAuthErrorOptions) {
    super('too_many_requests', description, 429, { ...options, headers: { 'Retry-After': String(retryAfterSeconds) } });
  }
}
/**
 * `temporarily_unavailable` (503): the store or the upstream IdP cannot be reached; retry. Nothing was deleted.
 *
 * @example
 * ```ts
 * throw new TemporarilyUnavailableError('The session store is unavailable', { retryAfterSeconds: 5 });
 * ```
 */
export class TemporarilyUnavailableError extends OAuthError {
  constructor(description: string, options?: OAuthErrorOptions & { retryAfterSeconds?: number }) {
    super('temporarily_unavailable', description, 503, {
      ...options,
      headers: { 'Retry-After': String(options?.retryAfterSeconds ?? 5) },
    });
  }
}
/**
 * `server_error` (500): anything unexpected. Details go to the logger, never to the client.
 *
 * @example
 * ```ts
 * throw new ServerError(); // details go to the logger, never to the client
 * ```
 */
export class ServerError extends OAuthError {
  constructor(description = 'An unexpected error occurred', options?: OAuthErrorOptions) {
    super('server_error', description, 500, options);
  }
}
