import { InvalidRequestError } from '../errors.js';

/**
 * Internal: request parameters (query or form body) as single strings. A
 * repeated or structured parameter is an `invalid_request` (RFC 6749 §3.1, §3.2).
 */
export function singleParams(source: unknown): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries((source ?? {}) as Record<string, unknown>)) {
    if (typeof v === 'string') out[k] = v;
    else if (v !== undefined) throw new InvalidRequestError(`parameter "${k}" is repeated or malformed`);
  }
  return out;
}
