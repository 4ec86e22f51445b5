import express, { type Request, type RequestHandler } from 'express';
import { OAuthError, InvalidRequestError } from '../errors.js';

const FORM = 'application/x-www-form-urlencoded';

/** Bytes in a limit written as `'16kb'` or a number. */
function bytes(limit: number | string): number {
  if (typeof limit === 'number') return limit;
  const m = /^(\d+)(b|kb|mb)$/i.exec(limit);
  if (!m) throw new TypeError(`body limit "${limit}" must be like "16kb"`);
  return Number(m[1]) * ({ b: 1, kb: 1024, mb: 1024 * 1024 } as const)[m[2]!.toLowerCase() as 'b' | 'kb' | 'mb'];
}

/** Whether an app-wide body parser (e.g. the `express.json()` that `createMcpExpressApp()` mounts) already read this body. */
function alreadyParsed(req: Request): boolean {
  // body-parser 1 (Express 4) marks `req._body`; body-parser 2 (Express 5) leaves the stream read to its end.
  return (req as Request & { _body?: boolean })._body === true || req.readableEnded;
}

/** The size of a body another parser already read: its Content-Length, else (chunked) the size of what it parsed. */
function parsedSize(req: Request, serialize: (body: unknown) => string): number {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared >= 0) return declared;
  return Buffer.byteLength(serialize(req.body));
}

const tooLarge = () => new OAuthError('invalid_request', 'The request body is too large', 413);

/**
 * Internal: parses a JSON body with our limit, and keeps the limit when an
 * app-wide JSON parser (with its own, larger limit) ran first.
 */
export function jsonBody(limit: number | string): RequestHandler {
  const max = bytes(limit);
  const parse = express.json({ limit: max });
  return (req, res, next) => {
    if (!alreadyParsed(req)) return parse(req, res, next);
    if (parsedSize(req, (b) => JSON.stringify(b ?? null)) > max) return next(tooLarge());
    next();
  };
}

/**
 * Internal: the form body of an OAuth endpoint (RFC 6749 §4.1.3, RFC 7009 §2.1),
 * with our limit, also behind an app-wide parser.
 *
 * `Content-Type` must be `application/x-www-form-urlencoded`. A list of media
 * types that contains it (MCP Inspector 1.x sends
 * `application/json, application/x-www-form-urlencoded` with a form body) is read
 * as the form type. Anything else is a `400 invalid_request` that names the
 * Content-Type received, so that it never surfaces as a misleading
 * `invalid_client` ("no client_id") further on. A request with no body at all
 * passes with an empty body (the endpoint then names the missing parameters).
 */
export function formBody(limit: number | string): RequestHandler {
  const max = bytes(limit);
  const parse = express.urlencoded({ extended: false, limit: max });
  return (req, res, next) => {
    const type = req.headers['content-type'];
    const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
    if (type === undefined && !hasBody) {
      req.body = {};
      return next();
    }
    const form =
      type === undefined
        ? undefined
        : type
            .split(',')
            .map((t) => t.trim())
            .find((t) => t.split(';')[0]!.trim().toLowerCase() === FORM);
    if (form === undefined) {
      return next(new InvalidRequestError(`Content-Type must be ${FORM}; got ${type === undefined ? 'none' : JSON.stringify(type)}`));
    }
    req.headers['content-type'] = form;
    if (!alreadyParsed(req)) return parse(req, res, next);
    if (parsedSize(req, (b) => new URLSearchParams(b as Record<string, string>).toString()) > max) return next(tooLarge());
    next();
  };
}
