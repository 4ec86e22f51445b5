/**
 * Error types. Every error the proxy answers with is an {@link OAuthError}; the
 * router's error handler (`lib/endpoints/error-handler.ts`) is the only place
 * that turns one into a response.
 */

/**
 * An OAuth 2.x / OIDC protocol error with its RFC error code and HTTP status.
 * `description` is safe to show to the client; never put secrets in it.
 *
 * @example
 * ```ts
 * throw new InvalidRequestError('code_challenge is required (PKCE S256)');
 * ```
 */
export class OAuthError extends Error {
  /** The RFC 6749 / 6750 / 7591 / 7009 error code, e.g. `invalid_grant`. */
  readonly error: string;
  /** HTTP status the error is answered with. */
  readonly status: number;
  /** Extra response headers (e.g. `Retry-After`). */
  readonly headers: Record<string, string>;

  constructor(error: string, description: string, status = 400, options?: { cause?: unknown; headers?: Record<string, string> }) {
    super(description, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'OAuthError';
    this.error = error;
    this.status = status;
    this.headers = options?.headers ?? {};
  }

  /** The RFC 6749 §5.2 JSON body. */
  toJSON(): { error: string; error_description: string } {
    return { error: this.error, error_description: this.message };
  }
}

/**
 * `invalid_request` (400): a parameter is missing, repeated or malformed.
 *
 * @example
 * ```ts
 * throw new InvalidRequestError('code_verifier is required (PKCE)');
 * ```
 */
export class InvalidRequestError extends OAuthError {
  constructor(description: string) { super('invalid_request', description, 400); }
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
  constructor(description: string) { super('invalid_client', description, 401); }
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
  constructor(description: string) { super('invalid_grant', description, 400); }
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
  constructor(description: string) { super('unauthorized_client', description, 400); }
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
  constructor(description: string) { super('unsupported_grant_type', description, 400); }
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
  constructor(description: string) { super('unsupported_response_type', description, 400); }
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
  constructor(description: string) { super('invalid_scope', description, 400); }
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
  constructor(description: string) { super('invalid_target', description, 400); }
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
  constructor(description: string) { super('access_denied', description, 403); }
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
  constructor(description: string) { super('invalid_redirect_uri', description, 400); }
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
  constructor(description: string) { super('invalid_client_metadata', description, 400); }
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
  constructor(description: string) { super('invalid_token', description, 401); }
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
  constructor(description: string) { super('insufficient_scope', description, 403); }
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
  constructor(description: string, retryAfterSeconds: number) {
    super('too_many_requests', description, 429, { headers: { 'Retry-After': String(retryAfterSeconds) } });
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
  constructor(description: string, options?: { cause?: unknown; retryAfterSeconds?: number }) {
    super('temporarily_unavailable', description, 503, {
      cause: options?.cause,
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
  constructor(description = 'An unexpected error occurred', options?: { cause?: unknown }) {
    super('server_error', description, 500, options);
  }
}

/**
 * Thrown by `req.upstreamTokens.getToken()` when no usable upstream token is
 * stored for the provider: the person must sign in again.
 *
 * @example
 * ```ts
 * try { await req.upstreamTokens.getToken('upstream'); }
 * catch (e) { if (e instanceof ReauthenticationRequiredError) return { content: [{ type: 'text', text: e.message }] }; }
 * ```
 */
export class ReauthenticationRequiredError extends Error {
  /** Stable code callers can switch on. */
  readonly code = 'ERR_REAUTHENTICATION_REQUIRED';
  /** Always `false`: retrying without signing in again will not help. */
  readonly retryable = false;
  /** The provider id whose token is missing. */
  readonly providerId: string;
  /** Where the person can start a new sign-in (the proxy's authorization endpoint). */
  readonly authorizeUrl: string;
  constructor(providerId: string, authorizeUrl: string, reason: string) {
    super(`No usable upstream token for provider "${providerId}" (${reason}). The user must re-authenticate: reconnect the MCP client, or start a new sign-in at ${authorizeUrl}.`);
    this.name = 'ReauthenticationRequiredError';
    this.providerId = providerId;
    this.authorizeUrl = authorizeUrl;
  }
}

/**
 * Thrown by `req.upstreamTokens.getToken()` when the upstream IdP or the store
 * failed transiently (timeout, 5xx, outage). Everything stored was kept; retry later.
 *
 * @example
 * ```ts
 * catch (e) { if (e instanceof UpstreamUnavailableError && e.retryable) scheduleRetry(); }
 * ```
 */
export class UpstreamUnavailableError extends Error {
  /** Stable code callers can switch on. */
  readonly code = 'ERR_UPSTREAM_UNAVAILABLE';
  /** Always `true`. */
  readonly retryable = true;
  /** The provider id concerned. */
  readonly providerId: string;
  constructor(providerId: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UpstreamUnavailableError';
    this.providerId = providerId;
  }
}
