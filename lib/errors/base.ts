/**
 * The base of every error the package throws on purpose (jose's `JOSEError`
 * habit): a stable `code` to switch on, never the message text. Argument and
 * option errors are `TypeError`s instead, as in jose and openid-client, and
 * carry `code: 'ERR_INVALID_OPTION'` where they come from `createOAuthProxy()`.
 *
 * @example
 * ```ts
 * try { await req.upstreamTokens!.getToken(); }
 * catch (e) { if (e instanceof ProxyError && e.code === 'ERR_UPSTREAM_UNAVAILABLE') retryLater(); }
 * ```
 */
export class ProxyError extends Error {
  /** Stable, upper-case code, e.g. `ERR_STORE_UNAVAILABLE` or `ERR_OAUTH_INVALID_GRANT`. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ProxyError';
    this.code = code;
  }
}

/**
 * Options of {@link OAuthError} and its subclasses.
 *
 * @example
 * ```ts
 * throw new AccessDeniedError('The upstream sign-in could not be verified', { detail: 'id_token nonce mismatch', cause: err });
 * ```
 */
export interface OAuthErrorOptions {
  /** What went wrong, for the logs only (oidc-provider's `error_detail`): never sent to the client. */
  detail?: string;
  /** The error that caused this one (logged, never sent). */
  cause?: unknown;
  /** A more specific stable code than the default `ERR_OAUTH_<ERROR>`. */
  code?: string;
  /** Extra response headers (e.g. `Retry-After`). */
  headers?: Record<string, string>;
}

/**
 * An OAuth 2.x / OIDC protocol error with its RFC error code and HTTP status.
 * What the client sees (`error`, `error_description` = `message`) is kept
 * apart from what is logged (`detail`, `cause`). Write `description` for the
 * client: what is wrong and what to do, never secrets or internal messages.
 *
 * @example
 * ```ts
 * throw new InvalidRequestError('code_challenge is required (PKCE S256)');
 * ```
 */
export class OAuthError extends ProxyError {
  /** The RFC 6749 / 6750 / 7591 / 7009 error code, e.g. `invalid_grant`. */
  readonly error: string;
  /** HTTP status the error is answered with. */
  readonly status: number;
  /** Extra response headers (e.g. `Retry-After`). */
  readonly headers: Record<string, string>;
  /** Internal detail for the logs (`error_detail`); never part of a response. */
  readonly detail: string | undefined;

  constructor(error: string, description: string, status = 400, options?: OAuthErrorOptions) {
    super(options?.code ?? `ERR_OAUTH_${error.toUpperCase()}`, description, options);
    this.name = 'OAuthError';
    this.error = error;
    this.status = status;
    this.headers = options?.headers ?? {};
    this.detail = options?.detail;
  }

  /** The RFC 6749 §5.2 JSON body: `error` and `error_description`, nothing else. */
  toJSON(): { error: string; error_description: string } {
    return { error: this.error, error_description: this.message };
  }
}
