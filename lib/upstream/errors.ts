import * as oidc from 'openid-client';
import { errors as joseErrors } from 'jose';

/** Internal: the upstream answered `invalid_grant` (the grant is gone for good). */
export class UpstreamGrantInvalid extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UpstreamGrantInvalid';
  }
}
/** Internal: the upstream refused the sign-in (`error=` on the callback, or a non-retryable token error). */
export class UpstreamRefused extends Error {
  readonly error: string;
  constructor(error: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UpstreamRefused';
    this.error = error;
  }
}
/** Internal: the upstream could not be reached or answered 5xx; retry later. */
export class UpstreamTransient extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UpstreamTransient';
  }
}

/** openid-client / oauth4webapi codes that mean "the upstream answered something we could not use as an HTTP exchange". */
const TRANSIENT_CODES = new Set([
  'OAUTH_TIMEOUT',
  'OAUTH_ABORT',
  'OAUTH_RESPONSE_IS_NOT_CONFORM',
  'OAUTH_RESPONSE_IS_NOT_JSON',
  'OAUTH_PARSE_ERROR',
]);

/**
 * A failure of `fetch` itself (connection refused, reset, DNS, TLS): undici throws a
 * `TypeError` with no `code` of its own (the system error is its `cause`). openid-client's
 * own argument errors are `TypeError`s too, but always carry an `ERR_*` code.
 */
export function isNetworkError(err: unknown): boolean {
  if (err instanceof DOMException) return err.name === 'TimeoutError' || err.name === 'AbortError';
  return err instanceof TypeError && (err as TypeError & { code?: unknown }).code === undefined;
}

/** Sorts openid-client failures into "the upstream said no" and "try again later", by error class and code. */
export function classify(err: unknown, step: string): Error {
  if (err instanceof UpstreamRefused || err instanceof UpstreamTransient || err instanceof UpstreamGrantInvalid) return err;
  if (err instanceof oidc.AuthorizationResponseError)
    return new UpstreamRefused(err.error, `The upstream returned error "${err.error}" at ${step}`);
  if (err instanceof oidc.ResponseBodyError) {
    if (err.status >= 500 || err.status === 429)
      return new UpstreamTransient(`The upstream answered ${err.status} at ${step}`, { cause: err });
    return new UpstreamRefused(err.error, `The upstream returned error "${err.error}" at ${step}`, { cause: err });
  }
  if (err instanceof oidc.WWWAuthenticateChallengeError) {
    // A 401 with WWW-Authenticate from a token endpoint is RFC 6749's invalid_client answer; a challenge may name its own error.
    if (err.status >= 500 || err.status === 429)
      return new UpstreamTransient(`The upstream answered ${err.status} at ${step}`, { cause: err });
    const named = err.cause.find((c) => typeof c.parameters.error === 'string')?.parameters.error;
    const error = named ?? (err.status === 401 ? 'invalid_client' : 'invalid_request');
    return new UpstreamRefused(error, `The upstream returned error "${error}" at ${step}`, { cause: err });
  }
  if (err instanceof oidc.ClientError && err.code !== undefined && TRANSIENT_CODES.has(err.code)) {
    return new UpstreamTransient(`The upstream could not be reached or answered unexpectedly at ${step} (${err.code})`, { cause: err });
  }
  if (isNetworkError(err)) return new UpstreamTransient(`The upstream could not be reached at ${step}`, { cause: err });
  // Validation failures (state, iss, nonce, id_token claims): refusals.
  const code = (err as { code?: unknown })?.code;
  return new UpstreamRefused(
    'access_denied',
    `The upstream response failed validation at ${step}${typeof code === 'string' ? ` (${code})` : ''}`,
    { cause: err },
  );
}

/** Sorts jose failures verifying an id_token: a JWKS that could not be fetched is transient, anything else a refusal. */
export function classifyJose(err: unknown): Error {
  // jose throws its generic JOSEError (no subclass) only when the JWKS response was not a 200 JSON document.
  const jwksUnreadable = err instanceof joseErrors.JOSEError && err.code === 'ERR_JOSE_GENERIC';
  if (err instanceof joseErrors.JWKSTimeout || jwksUnreadable || isNetworkError(err))
    return new UpstreamTransient('Could not fetch the upstream JWKS', { cause: err });
  const what = err instanceof joseErrors.JOSEError ? `${err.name}, ${err.code}` : 'error';
  return new UpstreamRefused('access_denied', `The upstream id_token failed verification (${what})`, { cause: err });
}
