import type { ErrorRequestHandler, Response } from 'express';
import {
  OAuthError, InvalidRequestError, ServerError, TemporarilyUnavailableError, AccessDeniedError,
} from '../errors.js';
import { StoreUnavailableError } from '../stores/store.js';
import { UpstreamRefused, UpstreamTransient, UpstreamGrantInvalid } from '../upstream/provider.js';
import { describeError, type ResolvedLogger } from '../logger.js';
import { PAGE_SECURITY_HEADERS, errorPageText, renderErrorPage } from '../consent/render.js';

/**
 * The only place that turns errors into responses. Anything that is not an
 * {@link OAuthError} becomes a generic `server_error` (details to the logger),
 * except store and upstream outages, which become `503 temporarily_unavailable`.
 */
export function toOAuthError(err: unknown, logger: ResolvedLogger): OAuthError {
  if (err instanceof OAuthError) return err;
  if (err instanceof StoreUnavailableError) {
    logger.warn({ err: describeError(err) }, 'session store unavailable');
    return new TemporarilyUnavailableError('The session store is unavailable; nothing was lost, retry shortly');
  }
  if (err instanceof UpstreamTransient) {
    logger.warn({ err: describeError(err), cause: describeError(err.cause) }, 'upstream IdP unavailable');
    return new TemporarilyUnavailableError('The upstream identity provider is unavailable; retry shortly');
  }
  if (err instanceof UpstreamRefused || err instanceof UpstreamGrantInvalid) {
    logger.info({ err: describeError(err) }, 'upstream refused');
    return new AccessDeniedError(err.message);
  }
  const e = err as { type?: string; status?: number; code?: string };
  if (e?.type === 'request.aborted' || e?.code === 'ECONNABORTED' || e?.code === 'ECONNRESET') {
    // The client went away mid-request: nothing is wrong here, and nobody will read the answer.
    logger.debug({ type: e.type ?? e.code }, 'client aborted the request');
    return new InvalidRequestError('The request was aborted by the client');
  }
  if (e?.type === 'entity.too.large') return new OAuthError('invalid_request', 'The request body is too large', 413);
  if (e?.type === 'entity.parse.failed' || e?.type === 'encoding.unsupported' || e?.type === 'charset.unsupported') {
    return new InvalidRequestError('The request body could not be parsed');
  }
  logger.error({ err: describeError(err) }, 'unexpected error');
  return new ServerError();
}

/** RFC 6749 §5.2 JSON error, never cached. */
export function sendJsonError(res: Response, err: OAuthError): void {
  res.status(err.status).set({ 'Cache-Control': 'no-store', Pragma: 'no-cache', ...err.headers });
  if (err.status === 401 && err.error === 'invalid_client') res.set('WWW-Authenticate', 'Basic realm="oauth"');
  res.json(err.toJSON());
}

/** RFC 6750 §3 bearer challenge (used by `requireSession()`). */
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
  res.status(status).set({ ...PAGE_SECURITY_HEADERS, 'Content-Type': 'text/html; charset=utf-8', ...extraHeaders }).send(html);
}

/** An error page for browser endpoints where redirecting is not safe (unknown client, bad redirect_uri, …). */
export function sendErrorPage(res: Response, err: OAuthError): void {
  const { title, message } = errorPageText(err.error, err.status);
  sendPage(res, err.status, renderErrorPage(title, message, `${err.message} (${err.error})`), err.headers);
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
    sendJsonError(res, toOAuthError(err, logger));
  };
}

/** Express error handler for the browser endpoints: errors become pages, never redirects. */
export function pageErrorHandler(logger: ResolvedLogger): ErrorRequestHandler {
  return (err, _req, res, next) => {
    if (res.headersSent) return next(err);
    sendErrorPage(res, toOAuthError(err, logger));
  };
}
