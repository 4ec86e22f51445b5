import type { z } from 'zod';
import type { ResolvedLogger } from '../logger.js';

/**
 * Internal: typed, versioned store records (workers-oauth-provider's storage
 * schema habit). Every record kind has one zod schema with a `v` field; every
 * read parses. A value that is not JSON or does not fit its schema is treated
 * as absent, and logged (without its contents): a damaged or foreign record
 * never becomes a 500. Records written before versions existed carry no `v`;
 * the schemas read them as version 1 (`v` defaults to 1).
 */
export function parseRecord<S extends z.ZodType>(
  schema: S,
  raw: string | undefined,
  kind: string,
  logger: Pick<ResolvedLogger, 'warn'> | undefined,
): z.output<S> | undefined {
  if (raw === undefined) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    logger?.warn({ record: kind }, 'a stored record is not valid JSON; it is treated as absent');
    return undefined;
  }
  const result = schema.safeParse(json);
  if (!result.success) {
    const fields = [...new Set(result.error.issues.map((i) => i.path.join('.') || '(root)'))].slice(0, 5);
    logger?.warn(
      { record: kind, fields },
      'a stored record does not match its schema (written by another version?); it is treated as absent',
    );
    return undefined;
  }
  return result.data;
}

/** Internal: serialises a record of the current version. */
export function writeRecord<T extends { v: number }>(record: T): string {
  return JSON.stringify(record);
}
