import { InvalidRedirectUriError } from '../errors.js';

/** Longest redirect URI (and metadata URI) accepted, in characters. */
export const MAX_URI_LENGTH = 2000;

/** Schemes that can never be a redirect target: script, inline content, local files, sockets. */
const REFUSED_SCHEMES = new Set([
  'javascript:',
  'vbscript:',
  'data:',
  'blob:',
  'file:',
  'filesystem:',
  'about:',
  'view-source:',
  'ws:',
  'wss:',
  'ftp:',
  'mailto:',
  'tel:',
  'sms:',
]);

/**
 * Private-use schemes of MCP clients seen in the wild that are not reverse-DNS
 * names. Any other private-use scheme must be a reverse-DNS name
 * (`com.example.app:`, RFC 8252 §7.1) or be listed in `allowedRedirectUris`:
 * an allowlist, because OS handler schemes (`ms-msdt:`, `search-ms:`,
 * `itms-services:`) launch programs.
 */
export const KNOWN_APP_SCHEMES: readonly string[] = Object.freeze([
  'cursor:',
  'vscode:',
  'vscode-insiders:',
  'vscodium:',
  'windsurf:',
  'claude:',
  'zed:',
]);
/** A reverse-DNS scheme: at least two dot-separated labels. */
const REVERSE_DNS_SCHEME = /^[a-z][a-z0-9-]*(\.[a-z0-9-]+)+:$/;

// eslint-disable-next-line no-control-regex -- control characters and spaces are refused
const CONTROL_OR_SPACE = /[\u0000-\u0020\u007f]/;
// eslint-disable-next-line no-control-regex -- the ASCII range, NUL included
const NON_ASCII = /[^\u0000-\u007f]/;

/** `true` for `localhost`, 127.0.0.0/8 and `[::1]` as the WHATWG URL parser spells them. */
function isLoopbackHostname(hostname: string): boolean {
  if (hostname === 'localhost' || hostname === '[::1]') return true;
  const m = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(hostname);
  return !!m && m.slice(1).every((octet) => Number(octet) <= 255);
}

/**
 * The raw path of an absolute URI: what comes after `scheme://authority` (or
 * after `scheme:` when there is no authority), up to the query. Internal.
 */
function rawPath(uri: string): string {
  const noQuery = uri.split('?', 1)[0] ?? '';
  const m = /^[a-z][a-z0-9+.-]*:(\/\/[^/]*)?(.*)$/is.exec(noQuery);
  return m?.[2] ?? '';
}

/**
 * Why a URI's path could be rewritten by a URL parser (dot segments, encoded
 * dots or slashes, backslashes), or `undefined` when it cannot. Shared with the
 * metadata-document checks. Internal.
 *
 * @internal
 */
export function pathTrickProblem(uri: string): string | undefined {
  if (uri.includes('\\')) return 'must not contain a backslash';
  const noQuery = uri.split('?', 1)[0] ?? '';
  if (uri.includes('/./') || uri.includes('/../') || /\/\.\.?$/.test(noQuery) || /\/\.\.?$/.test(uri)) {
    return 'must not contain "." or ".." path segments';
  }
  if (/%(2e|2f|5c)/i.test(rawPath(uri))) return 'must not contain percent-encoded ".", "/" or "\\" in the path';
  return undefined;
}

function matchesAllowed(uri: string, allowed: ReadonlyArray<string | RegExp>): boolean {
  return allowed.some((entry) => {
    if (typeof entry === 'string') return entry === uri;
    // Anchor the pattern ourselves and drop g/y so lastIndex state cannot leak between calls.
    const anchored = new RegExp(`^(?:${entry.source})$`, entry.flags.replace(/[gy]/g, ''));
    const match = anchored.exec(uri);
    return match !== null && match[0] === uri;
  });
}

/**
 * The reason `uri` is refused by {@link checkRedirectUri}, or `undefined` when
 * it is accepted. Lets callers word the error themselves (e.g. with the field
 * path `redirect_uris[2]`).
 *
 * @internal
 */
export function redirectUriProblem(uri: string, options?: { allowed?: ReadonlyArray<string | RegExp> }): string | undefined {
  if (typeof uri !== 'string' || uri.length === 0) return 'must be a non-empty string';
  if (uri.length > MAX_URI_LENGTH) return `is longer than ${MAX_URI_LENGTH} characters`;
  if (CONTROL_OR_SPACE.test(uri)) return 'must not contain whitespace or control characters';
  if (NON_ASCII.test(uri)) return 'must be ASCII: percent-encode the path and use the punycode form of the host';
  if (uri.includes('#')) return 'must not contain a fragment ("#"), not even an empty one';

  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return 'is not an absolute URI (expected e.g. https://app.example.com/callback)';
  }
  const scheme = url.protocol.toLowerCase();
  if (REFUSED_SCHEMES.has(scheme)) return `uses the refused scheme "${scheme}"; use https, loopback http or a private-use app scheme`;
  if ((scheme === 'https:' || scheme === 'http:') && !/^https?:\/\/[^/]/i.test(uri)) {
    return `must be written in full as ${scheme}//host/path`;
  }
  const authority = /^[a-z][a-z0-9+.-]*:\/\/([^/?]*)/is.exec(uri)?.[1];
  if (url.username || url.password || (authority !== undefined && authority.includes('@'))) {
    return 'must not contain userinfo ("user@" or "user:password@")';
  }
  const trick = pathTrickProblem(uri);
  if (trick) return trick;

  if (scheme === 'http:' && !isLoopbackHostname(url.hostname)) {
    return 'uses http on a host that is not loopback; use https, or http://localhost, http://127.0.0.1 or http://[::1] for a native app';
  }
  if (scheme !== 'http:' && scheme !== 'https:' && uri.length <= scheme.length) {
    return 'has nothing after the scheme; private-use scheme URIs need a path, e.g. com.example.app:/callback';
  }
  const listed = options?.allowed !== undefined && matchesAllowed(uri, options.allowed);
  if (scheme !== 'http:' && scheme !== 'https:' && !listed && !REVERSE_DNS_SCHEME.test(scheme) && !KNOWN_APP_SCHEMES.includes(scheme)) {
    return `uses the private-use scheme "${scheme}", which is neither a reverse-DNS name (e.g. com.example.app:) nor a known app scheme (${KNOWN_APP_SCHEMES.join(' ')}); the server operator can allow it with "allowedRedirectUris"`;
  }
  if (options?.allowed && !listed) {
    return "is not in this server's list of allowed redirect URIs";
  }
  return undefined;
}

/** Shortens a URI for an error message. Internal. */
export function quoteUri(uri: string): string {
  return JSON.stringify(uri.length > 120 ? `${uri.slice(0, 120)}…` : uri);
}

/**
 * Checks a redirect URI against the proxy's policy (OAuth 2.1, RFC 8252, MCP
 * security best practices) and throws `InvalidRedirectUriError` naming the
 * problem when it is refused.
 *
 * Accepted: `https:` URIs; `http:` only on a loopback host (`localhost`,
 * 127.0.0.0/8, `[::1]`); private-use schemes of native apps that are
 * reverse-DNS names (`com.example.app:/cb`) or known app schemes
 * ({@link KNOWN_APP_SCHEMES}: `cursor://…`, `vscode://…`, …), or that
 * `options.allowed` lists. Refused: script, inline-content, file
 * and socket schemes, any fragment, userinfo, dot segments (plain or
 * percent-encoded), backslashes, control characters or whitespace, non-ASCII
 * characters and URIs longer than 2000 characters.
 *
 * When `options.allowed` is given the URI must also equal one of its strings,
 * or be matched in full by one of its RegExps. `options.label` names the
 * field in the error (default `redirect_uri`).
 *
 * @example
 * ```ts
 * checkRedirectUri('https://claude.ai/api/mcp/auth_callback'); // ok
 * checkRedirectUri('http://127.0.0.1:33418/');                  // ok (loopback)
 * checkRedirectUri('http://example.com/cb');                     // throws InvalidRedirectUriError
 * checkRedirectUri('https://app.example.com/cb', { allowed: [/https:\/\/[a-z]+\.example\.com\/cb/] });
 * ```
 */
export function checkRedirectUri(uri: string, options?: { allowed?: ReadonlyArray<string | RegExp>; label?: string }): void {
  const problem = redirectUriProblem(uri, options);
  const label = options?.label ?? 'redirect_uri';
  if (problem) {
    throw new InvalidRedirectUriError(typeof uri === 'string' ? `${label} ${quoteUri(uri)} ${problem}` : `${label} ${problem}`);
  }
}

/**
 * `true` when `uri` is an `http:` URI on a loopback host (`localhost`,
 * 127.0.0.0/8, `[::1]`): the RFC 8252 §7.3 redirect of a native app, whose
 * port may change from one request to the next. `https:` loopback URIs are not
 * included: they have no port exemption.
 *
 * @example
 * ```ts
 * isLoopbackRedirectUri('http://127.0.0.1:33418/'); // true
 * isLoopbackRedirectUri('https://localhost/cb');    // false
 * ```
 */
export function isLoopbackRedirectUri(uri: string): boolean {
  if (typeof uri !== 'string') return false;
  try {
    const url = new URL(uri);
    return url.protocol === 'http:' && isLoopbackHostname(url.hostname);
  } catch {
    return false;
  }
}

/** Splits a raw loopback URI into `http://host` and the rest, dropping the port. */
function withoutPort(uri: string): { origin: string; rest: string } | undefined {
  const m = /^(http:\/\/(?:\[[^\]]*\]|[^/?#:@[\]]+))(?::(\d{1,5}))?([/?][^#]*)?$/s.exec(uri);
  if (!m) return undefined;
  const port = m[2];
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) return undefined;
  return { origin: m[1] ?? '', rest: m[3] ?? '' };
}

/**
 * Compares a registered redirect URI with the one an authorization request
 * names: exact string equality, with a single exception (RFC 8252 §7.3): when
 * both are `http:` loopback URIs they may differ in port only. Scheme, host
 * (spelled identically: `localhost` ≠ `127.0.0.1`), path and query must still
 * be identical; nothing is normalised.
 *
 * @example
 * ```ts
 * redirectUriMatches('http://127.0.0.1:33418/', 'http://127.0.0.1:50123/'); // true
 * redirectUriMatches('http://localhost/cb', 'http://127.0.0.1/cb');          // false
 * redirectUriMatches('https://claude.ai/api/mcp/auth_callback', 'https://claude.ai/api/mcp/auth_callback/'); // false
 * ```
 */
export function redirectUriMatches(registered: string, requested: string): boolean {
  if (typeof registered !== 'string' || typeof requested !== 'string') return false;
  if (registered === requested) return true;
  if (!isLoopbackRedirectUri(registered) || !isLoopbackRedirectUri(requested)) return false;
  const a = withoutPort(registered);
  const b = withoutPort(requested);
  return !!a && !!b && a.origin === b.origin && a.rest === b.rest;
}
