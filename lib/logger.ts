/**
 * A pino-compatible logger: any object with `warn` and `error`, and optionally
 * `debug` and `info`, taking `(obj, msg)` or `(msg)`. pino, bunyan-style and
 * console-like loggers fit.
 *
 * @example
 * ```ts
 * import pino from 'pino';
 * createOAuthProxy({ ...options, logger: pino() });
 * ```
 */
export interface Logger {
  debug?(obj: object | string, msg?: string): void;
  info?(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
}

/** Internal: always has all four levels. */
export interface ResolvedLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

const noop = () => {};

/** The default: silent except for warnings and errors, which go to the console. */
const consoleLogger: ResolvedLogger = {
  debug: noop,
  info: noop,
  warn: (obj, msg) => console.warn(`[mcp-oauth-proxy] ${msg}`, Object.keys(obj).length ? obj : ''),
  error: (obj, msg) => console.error(`[mcp-oauth-proxy] ${msg}`, Object.keys(obj).length ? obj : ''),
};

/** Internal: fills in missing levels. */
export function resolveLogger(logger: Logger | undefined): ResolvedLogger {
  if (!logger) return consoleLogger;
  const bind = (level: 'debug' | 'info' | 'warn' | 'error') => {
    const f = logger[level];
    return typeof f === 'function' ? (obj: object, msg: string) => f.call(logger, obj, msg) : noop;
  };
  return { debug: bind('debug'), info: bind('info'), warn: bind('warn'), error: bind('error') };
}

/**
 * Internal: a safe description of an error for logs. Never includes response
 * bodies or request parameters that may hold tokens.
 */
export function describeError(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { err: String(err).slice(0, 200) };
  const e = err as Error & { code?: unknown; status?: unknown; error?: unknown; detail?: unknown };
  const out: Record<string, unknown> = { name: e.name, message: e.message };
  if (e.code !== undefined) out.code = e.code;
  if (e.error !== undefined) out.error = e.error;
  if (e.status !== undefined) out.status = e.status;
  if (typeof e.detail === 'string') out.error_detail = e.detail;
  return out;
}
