import type { Request, Response } from 'express';
import type { EndpointServices } from './services.js';
import type { BrowserSessionDeps } from './browser-session.js';
import { pkceChallenge } from '../crypto.js';
import { bindPending, saveBrowserSession, type Transaction } from './browser-session.js';

/** Internal: the collaborators this endpoint uses. */
export type UpstreamRedirectDeps = Pick<EndpointServices, 'pending' | 'upstreams' | 'urls'> & BrowserSessionDeps;

/**
 * Internal: sends the browser to the upstream IdP. The upstream `state`,
 * `nonce` and PKCE verifier are created only now (after consent), kept for
 * `authorizationTtl` under the state's hash, and the state is bound to this
 * browser's session so that only this browser can complete the callback.
 */
export async function startUpstream(ctx: UpstreamRedirectDeps, req: Request, res: Response, txn: Transaction): Promise<void> {
  // Local mode signs in at the chain's next app; remote mode at its one upstream.
  const app = txn.apps?.[0];
  const upstream = app === undefined ? ctx.upstreams.primary : ctx.upstreams.get(app);
  if (!upstream) throw new TypeError(`startUpstream: unknown app "${app}"`);
  const { state, stateHash, nonce, codeVerifier } = await ctx.pending.start(txn, app);
  bindPending(req, stateHash);
  await saveBrowserSession(req);
  const url = await upstream.authorizationUrl({
    redirectUri: ctx.urls.callback,
    state,
    nonce,
    codeChallenge: pkceChallenge(codeVerifier),
  });
  res.set('Cache-Control', 'no-store').redirect(303, url.href);
}

/**
 * Internal: the scope granted to a client. The proxy's scopes are the upstream
 * scopes it was configured with; a request for some of them gets those, a
 * request for none of them (or no `scope`) gets all of them (RFC 6749 §3.3
 * lets the server grant other than what was asked; the token response says so).
 */
export function grantScope(requested: string | undefined, configured: readonly string[]): string {
  const asked = (requested ?? '').split(' ').filter(Boolean);
  const granted = asked.filter((s) => configured.includes(s));
  return [...new Set(granted.length ? granted : configured)].join(' ');
}

/** Normalises a resource indicator for comparison: case of scheme and host (by URL), and one trailing slash. */
export function normalizeResource(value: string): string | undefined {
  try {
    const u = new URL(value);
    if (u.hash) return undefined;
    return u.href.replace(/\/$/, '');
  } catch {
    return undefined;
  }
}

/** Whether a client's `resource` parameter names this server's resource (RFC 8707; lenient on case and one trailing slash). */
export function resourceMatches(requested: string, resource: string): boolean {
  const a = normalizeResource(requested);
  return a !== undefined && a.toLowerCase() === normalizeResource(resource)?.toLowerCase();
}
