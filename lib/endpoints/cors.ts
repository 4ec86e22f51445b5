import type { RequestHandler } from 'express';

/**
 * Internal: CORS for the endpoints browser-based clients (MCP Inspector) call
 * directly: metadata, register, token and revoke. They carry no cookies, so
 * `*` is safe by default. Never used on authorize, callback or consent.
 */
export function cors(origins: '*' | string[]): RequestHandler {
  const allowed = origins === '*' ? undefined : new Set(origins);
  return (req, res, next) => {
    const origin = req.headers.origin;
    if (origin !== undefined) {
      if (!allowed) res.set('Access-Control-Allow-Origin', '*');
      else if (allowed.has(origin)) res.set({ 'Access-Control-Allow-Origin': origin, Vary: 'Origin' });
      res.set('Access-Control-Expose-Headers', 'WWW-Authenticate');
    }
    if (req.method === 'OPTIONS') {
      res.set({
        'Access-Control-Allow-Methods': 'GET, POST, OPTIONS',
        'Access-Control-Allow-Headers': 'Authorization, Content-Type, MCP-Protocol-Version',
        'Access-Control-Max-Age': '600',
      });
      res.status(204).end();
      return;
    }
    next();
  };
}
