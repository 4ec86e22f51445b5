import type { RequestHandler } from 'express';
import { OAuthError } from '../errors.js';
import { sendJsonError } from '../http/respond.js';

/**
 * Options of {@link validateHostAndOrigin} (and of `requireSession({ allowedHosts, allowedOrigins })`).
 *
 * @example
 * ```ts
 * const opts: HostOriginOptions = { allowedHosts: ['mcp.example.com'], allowedOrigins: ['https://app.example.com'] };
 * ```
 */
export interface HostOriginOptions {
  /**
   * Host names the route answers to, without port (`mcp.example.com`, `localhost`,
   * `[::1]`), compared case-insensitively. A request whose `Host` names another
   * host gets `403` (DNS-rebinding protection).
   */
  allowedHosts: string[];
  /**
   * Browser origins allowed to call the route, as full origins
   * (`https://app.example.com`, `http://localhost:6274`), or `'*'`. A request
   * without an `Origin` header (every non-browser client) passes; one with an
   * `Origin` that is not listed, or `Origin: null`, gets `403`.
   * Default: any origin whose host name is one of `allowedHosts` (any port).
   */
  allowedOrigins?: '*' | string[];
}

const HOSTNAME = /^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)$/i;

/** The host name of a `Host` header value (`example.com:8443` → `example.com`, `[::1]:3000` → `[::1]`), lower-cased, or undefined when malformed. */
function hostnameOf(host: string): string | undefined {
  const m = /^(\[[^\]]+\]|[^:]+)(?::\d{1,5})?$/.exec(host.trim());
  return m && HOSTNAME.test(m[1]!) ? m[1]!.toLowerCase() : undefined;
}

/** Internal: parses and checks the options, naming the option path in every error. */
export function hostOriginCheck(opts: HostOriginOptions, where: string): RequestHandler {
  if (
    !opts ||
    !Array.isArray(opts.allowedHosts) ||
    opts.allowedHosts.length === 0 ||
    opts.allowedHosts.some((h) => typeof h !== 'string' || !HOSTNAME.test(h))
  ) {
    throw new TypeError(
      `${where}: "allowedHosts" must be a non-empty array of host names without port, e.g. ['mcp.example.com', 'localhost']`,
    );
  }
  const hosts = new Set(opts.allowedHosts.map((h) => h.toLowerCase()));
  const origins = opts.allowedOrigins;
  if (
    origins !== undefined &&
    origins !== '*' &&
    (!Array.isArray(origins) || origins.some((o) => typeof o !== 'string' || safeOrigin(o) !== o.toLowerCase().replace(/\/$/, '')))
  ) {
    throw new TypeError(
      `${where}: "allowedOrigins" must be '*' or an array of origins such as 'https://app.example.com' (scheme, host and port only)`,
    );
  }
  const originSet = Array.isArray(origins) ? new Set(origins.map((o) => o.toLowerCase().replace(/\/$/, ''))) : undefined;
  const originAllowed = (origin: string): boolean => {
    if (origins === '*') return true;
    const normal = safeOrigin(origin);
    if (normal === undefined) return false;
    if (originSet) return originSet.has(normal);
    return hosts.has(hostnameOf(new URL(normal).host) ?? '');
  };
  return (req, res, next) => {
    const host = req.headers.host;
    const name = typeof host === 'string' ? hostnameOf(host) : undefined;
    if (name === undefined || !hosts.has(name)) {
      return sendJsonError(
        res,
        new OAuthError(
          'invalid_request',
          `The Host header ${host === undefined ? '(missing)' : JSON.stringify(host)} is not a host this server answers to`,
          403,
        ),
      );
    }
    const origin = req.headers.origin;
    if (origin !== undefined && !originAllowed(origin)) {
      return sendJsonError(
        res,
        new OAuthError('invalid_request', `The Origin ${JSON.stringify(origin)} is not allowed to call this server`, 403),
      );
    }
    next();
  };
}

/** `scheme://host[:port]` of an http(s) origin, lower-cased, or undefined (also for `null`). */
function safeOrigin(value: string): string | undefined {
  try {
    const u = new URL(value);
    if ((u.protocol !== 'https:' && u.protocol !== 'http:') || u.origin === 'null') return undefined;
    return u.origin.toLowerCase();
  } catch {
    return undefined;
  }
}

/**
 * Middleware for the MCP route: refuses requests whose `Host` header names a
 * host the server does not answer to (DNS rebinding), and browser requests from
 * an `Origin` that is not allowed, with `403` — as the MCP transport spec asks
 * ("servers MUST validate the Origin header"). Put it before `requireSession()`,
 * or pass the same options to `requireSession()` itself.
 *
 * @example
 * ```ts
 * import { validateHostAndOrigin, requireSession } from 'mcp-oauth-proxy';
 *
 * app.all('/mcp', validateHostAndOrigin({ allowedHosts: ['mcp.example.com'] }), requireSession(), mcpHandler);
 * // the same, in one:
 * app.all('/mcp', requireSession({ allowedHosts: ['mcp.example.com'] }), mcpHandler);
 * ```
 */
export function validateHostAndOrigin(opts: HostOriginOptions): RequestHandler {
  return hostOriginCheck(opts, 'validateHostAndOrigin(opts)');
}
