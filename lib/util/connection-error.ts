/**
 * Internal: whether an error means "the backend could not be reached or did
 * not answer", as opposed to a bug or a refused value. Decided by error codes
 * and classes only, never by message text: Node's socket and DNS codes,
 * undici's `UND_ERR_*` codes (under `fetch failed`), PostgreSQL's connection
 * SQLSTATEs, node-redis' connection error classes, and the `AbortError` /
 * `TimeoutError` of an aborted or timed-out call. Follows `cause` a few levels.
 */
export function isConnectionError(err: unknown, depth = 0): boolean {
  if (!(err instanceof Error) || depth > 3) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && (CONNECTION_CODES.has(code) || code.startsWith('UND_ERR_') || /^(08|57P0)/.test(code))) return true;
  if (CONNECTION_CLASSES.has(err.name) || CONNECTION_CLASSES.has(err.constructor.name)) return true;
  return isConnectionError(err.cause, depth + 1);
}

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'ERR_STORE_UNAVAILABLE',
  'ERR_SOCKET_CLOSED',
  'ERR_STREAM_PREMATURE_CLOSE',
  'ERR_JWKS_TIMEOUT',
]);

const CONNECTION_CLASSES = new Set([
  'AbortError',
  'TimeoutError',
  'ConnectionTimeoutError',
  'SocketTimeoutError',
  'ClientClosedError',
  'ClientOfflineError',
  'DisconnectsClientError',
  'SocketClosedUnexpectedlyError',
  'ReconnectStrategyError',
  'RootNodesUnavailableError',
]);
