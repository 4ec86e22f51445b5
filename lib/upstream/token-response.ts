import type * as oidc from 'openid-client';
import type { UpstreamTokenSet } from '../vault/vault.js';

/**
 * Error codes some OAuth 2.0 servers use instead of RFC 6749's, mapped to the
 * standard code that means the same (GitHub's token endpoint uses these).
 */
const NON_STANDARD_ERRORS: Record<string, string> = {
  bad_verification_code: 'invalid_grant',
  bad_refresh_token: 'invalid_grant',
  redirect_uri_mismatch: 'invalid_grant',
  incorrect_client_credentials: 'invalid_client',
  unverified_user_email: 'access_denied',
};
/** Token-response members that are numbers, even when a form-encoded body delivers them as strings. */
const NUMERIC = ['expires_in', 'refresh_token_expires_in', 'refresh_expires_in'];
/** Where a normalised token response hides an id_token the proxy verifies itself (templated issuers). */
export const DEFERRED_ID_TOKEN = 'x_mcp_oauth_proxy_id_token';

export interface NormaliseOptions {
  /** Move `id_token` aside (to {@link DEFERRED_ID_TOKEN}) so openid-client does not check its `iss`: the proxy does, against a `{tenantid}` template. */
  deferIdToken?: boolean;
}

/**
 * Wraps the fetch openid-client uses so that token-endpoint answers of
 * OAuth 2.0 servers that are not quite RFC 6749 read as if they were:
 * - an `application/x-www-form-urlencoded` (or `text/plain` form) body becomes JSON, numeric members numbers;
 * - an error delivered with HTTP 200 (`{ "error": … }` and no `access_token`) gets status 400, or 401 for `invalid_client`;
 * - non-standard error codes (GitHub's `bad_refresh_token`, …) become the standard ones.
 * Only POST responses are touched (token, revocation and registration endpoints); discovery, JWKS and userinfo pass through.
 */
export function normalisingFetch(inner: typeof fetch, options: NormaliseOptions = {}): typeof fetch {
  return (async (input: Parameters<typeof fetch>[0], init?: RequestInit) => {
    const res = await inner(input, init);
    if ((init?.method ?? 'GET').toUpperCase() !== 'POST') return res;
    const type = (res.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    const form = type === 'application/x-www-form-urlencoded' || type === 'text/plain';
    if (!form && type !== 'application/json') return res;
    const text = await res.text();
    let body: Record<string, unknown>;
    try {
      body = form ? Object.fromEntries(new URLSearchParams(text)) : (JSON.parse(text) as Record<string, unknown>);
    } catch {
      return respond(text, res.status, res.headers);
    }
    if (!body || typeof body !== 'object' || Array.isArray(body)) return respond(text, res.status, res.headers);
    for (const k of NUMERIC) {
      const v = body[k];
      if (typeof v === 'string' && /^\d+$/.test(v)) body[k] = Number(v);
    }
    let status = res.status;
    if (typeof body.error === 'string') {
      body.error = NON_STANDARD_ERRORS[body.error] ?? body.error;
      if (status === 200 && body.access_token === undefined) status = body.error === 'invalid_client' ? 401 : 400;
    }
    if (options.deferIdToken && typeof body.id_token === 'string') {
      body[DEFERRED_ID_TOKEN] = body.id_token;
      delete body.id_token;
    }
    return respond(JSON.stringify(body), status, res.headers, 'application/json');
  }) as typeof fetch;
}

/** A new Response over an already-read (and already-decoded) body. */
function respond(text: string, status: number, original: Headers, contentType?: string): Response {
  const headers = new Headers(original);
  headers.delete('content-length');
  headers.delete('content-encoding');
  if (contentType) headers.set('content-type', contentType);
  return new Response(text, { status, headers });
}

/** The vault's token set from a token-endpoint response (both refresh-expiry spellings). */
export function toTokenSet(res: oidc.TokenEndpointResponse, clock: () => number): UpstreamTokenSet {
  const now = Math.floor(clock() / 1000);
  const out: UpstreamTokenSet = { access_token: res.access_token, token_type: res.token_type };
  if (typeof res.expires_in === 'number' && res.expires_in > 0) out.expires_at = now + res.expires_in;
  if (typeof res.refresh_token === 'string') out.refresh_token = res.refresh_token;
  const extra = res as Record<string, unknown>;
  // GitHub: refresh_token_expires_in; Keycloak: refresh_expires_in (0 there means "no expiry", as for offline tokens).
  const rex = typeof extra.refresh_token_expires_in === 'number' ? extra.refresh_token_expires_in : extra.refresh_expires_in;
  if (typeof rex === 'number' && rex > 0) out.refresh_expires_at = now + rex;
  if (typeof res.scope === 'string') out.scope = res.scope;
  return out;
}
