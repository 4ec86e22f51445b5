import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express';
import { OAuthError, InvalidRequestError, ServerError, TemporarilyUnavailableError, AccessDeniedError } from '../errors.js';
import { StoreUnavailableError } from '../stores/store.js';
import { UpstreamRefused, UpstreamTransient, UpstreamGrantInvalid } from '../upstream/provider.js';
import { describeError, type ResolvedLogger } from '../logger.js';
import { PAGE_SECURITY_HEADERS, errorPageText, renderErrorPage } from '../consent/render.js';

/*
 * The only place that turns errors into responses (node-oidc-provider's
 * `shared/error_handler.js`): one function for JSON errors, one for bearer
 * challenges, one for pages, one for redirects. Clients see `error` and
 * `error_description`; `detail` and `cause` go to the logger only.
 */

/** body-parser's `type` for a body that could not be read. */
const UNREADABLE_BODY = new Set(['entity.parse.failed', 'encoding.unsupported', 'charset.unsupported']);

/**
 * Classifies any error as the {@link OAuthError} to answer with, by class and
 * code (never by message text): store outages and unreachable upstreams
 * become `503 temporarily_unavailable`, upstream refusals `access_denied`,
 * unreadable bodies `invalid_request`, anything else a generic `server_error`
 * whose details are logged, never sent.
 */
export function toOAuthError(err: unknown, logger: ResolvedLogger): OAuthError {
  if (err instanceof OAuthError) {
    if (err.detail !== undefined || err.cause !== undefined) {
      logger.info({ error: err.error, code: err.code, error_detail: err.detail, cause: describeError(err.cause) }, 'request refused');
    }
    return err;
  }
  if (err instanceof StoreUnavailableError) {
    logger.warn({ err: describeError(err) }, 'session store unavailable');
    return new TemporarilyUnavailableError('The session store is unavailable; nothing was lost, retry shortly');
  }
  if (err instanceof UpstreamTransient) {
    logger.warn({ err: describeError(err), cause: describeError(err.cause) }, 'upstream IdP unavailable');
    return new TemporarilyUnavailableError('The upstream identity provider is unavailable; try signing in again');
  }
  if (err instanceof UpstreamRefused || err instanceof UpstreamGrantInvalid) {
    logger.warn({ err: describeError(err) }, 'upstream sign-in refused');
    // `server_error` refusals are the proxy's own configuration messages (no clientId, no endpoints), written
    // to say what to set; any other refusal may quote the upstream or a validation library: logged only.
    if (err instanceof UpstreamRefused && err.error === 'server_error') return new AccessDeniedError(err.message);
    return new AccessDeniedError('The upstream sign-in could not be verified', { detail: err.message });
  }
  const code = (err as { code?: unknown } | null)?.code;
  const aborted = (err as { type?: unknown } | null)?.type === 'request.aborted' || code === 'ECONNABORTED' || code === 'ECONNRESET';
  if (aborted) {
    // The client went away mid-request: nothing is wrong here, and nobody will read the answer.
    logger.debug({ type: (err as { type?: string }).type ?? code }, 'client aborted the request');
    return new InvalidRequestError('The request was aborted by the client', { code: 'ERR_REQUEST_ABORTED' });
  }
  const type = (err as { type?: unknown } | null)?.type;
  if (type === 'entity.too.large')
    return new OAuthError('invalid_request', 'The request body is too large', 413, { code: 'ERR_BODY_TOO_LARGE' });
  if (typeof type === 'string' && UNREADABLE_BODY.has(type))
    return new InvalidRequestError('The request body could not be parsed', { code: 'ERR_BODY_UNREADABLE' });
  logger.error({ err: describeError(err) }, 'unexpected error');
  return new ServerError();
}

/** RFC 6749 §5.2 JSON error, never cached. */
export function sendJsonError(res: Response, err: OAuthError): void;
export function sendJsonError(res: Response, err: unknown, logger: ResolvedLogger): void;
export function sendJsonError(res: Response, err: unknown, logger?: ResolvedLogger): void {
  const e = err instanceof OAuthError && !logger ? err : toOAuthError(err, logger!);
  res.status(e.status).set({ 'Cache-Control': 'no-store', Pragma: 'no-cache', ...e.headers });
  if (e.status === 401 && e.error === 'invalid_client') res.set('WWW-Authenticate', 'Basic realm="oauth"');
  res.json(e.toJSON());
}

/** RFC 6750 §3 bearer challenge (used by `requireSession()`). Without an error: "authentication required". */
export function sendBearerError(res: Response, err: OAuthError | undefined, resourceMetadata: string, scope?: string): void {
  const params = [`resource_metadata="${resourceMetadata}"`];
  if (err) params.unshift(`error="${err.error}"`, `error_description="${err.message.replace(/["\\]/g, '')}"`);
  if (scope) params.push(`scope="${scope}"`);
  const status = err?.status ?? 401;
  res.status(status).set({
    'WWW-Authenticate': `Bearer ${params.join(', ')}`,
    'Access-Control-Expose-Headers': 'WWW-Authenticate',
    'Cache-Control': 'no-store',
  });
  res.json(err ? err.toJSON() : { error: 'invalid_token', error_description: 'Authentication required' });
}

/** Sends an HTML page with the page security headers (no framing, no referrer, no caching). */
export function sendPage(res: Response, status: number, html: string, extraHeaders: Record<string, string> = {}): void {
  res
    .status(status)
    .set({ ...PAGE_SECURITY_HEADERS, 'Content-Type': 'text/html; charset=utf-8', ...extraHeaders })
    .send(html);
}

/** An error page for browser endpoints where redirecting is not safe (unknown client, bad redirect_uri, …). */
export function sendErrorPage(res: Response, err: OAuthError): void;
export function sendErrorPage(res: Response, err: unknown, logger: ResolvedLogger): void;
export function sendErrorPage(res: Response, err: unknown, logger?: ResolvedLogger): void {
  const e = err instanceof OAuthError && !logger ? err : toOAuthError(err, logger!);
  const { title, message } = errorPageText(e.error, e.status);
  sendPage(res, e.status, renderErrorPage(title, message, `${e.message} (${e.error})`), e.headers);
}

/** Redirects to an already validated client redirect URI with an authorization error (RFC 6749 §4.1.2.1, RFC 9207 `iss`). */
export function redirectWithError(res: Response, redirectUri: string, err: OAuthError, state: string | undefined, issuer: string): void {
  const url = new URL(redirectUri);
  url.searchParams.set('error', err.error);
  url.searchParams.set('error_description', err.message);
  if (state !== undefined) url.searchParams.set('state', state);
  url.searchParams.set('iss', issuer);
  res.set('Cache-Control', 'no-store').redirect(303, url.href);
}

/** Express error handler for the JSON endpoints. */
export function jsonErrorHandler(logger: ResolvedLogger): ErrorRequestHandler {
  return (err, _req, res, next) => {
    if (res.headersSent) return next(err);
    sendJsonError(res, err, logger);
  };
}

/** Express error handler for the browser endpoints: errors become pages, never redirects. */
export function pageErrorHandler(logger: ResolvedLogger): ErrorRequestHandler {
  return (err, _req, res, next) => {
    if (res.headersSent) return next(err);
    sendErrorPage(res, err, logger);
  };
}

/** Runs an async handler and passes its rejection to the router's error handler (Express 4 does not). */
export function handle(fn: (req: Request, res: Response) => Promise<void>): RequestHandler {
  return (req, res, next) => {
    fn(req, res).catch(next);
  };
}
