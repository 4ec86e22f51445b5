/**
 * Server-rendered HTML for the consent page and for errors that must not
 * redirect. No scripts, no external assets: inline CSS only, so the pages work
 * under {@link PAGE_SECURITY_HEADERS}.
 */

/**
 * Everything the consent page shows. All strings are raw: the renderer escapes them.
 *
 * @example
 * ```ts
 * const html = renderConsentPage(model); // model: ConsentPageModel, built by the proxy
 * ```
 */
export interface ConsentPageModel {
  /** The client's `client_name`, or its id when it has none. Claimed by the client, not verified. */
  clientName: string;
  clientId: string;
  /** The client's `client_uri` (https), if it gave one. Claimed, not verified. */
  clientUri?: string;
  /** The redirect URI the authorization code will be sent to. */
  redirectUri: string;
  /** The host of `redirectUri` (for private-use schemes: the scheme and host), shown prominently. */
  redirectHost: string;
  /** For Client ID Metadata Document clients: the https host the document was fetched from. */
  verifiedDomain?: string;
  /** Scopes the client asks for. */
  scopes: string[];
  /** What each requested scope means, in words (built-in descriptions merged with `consent.scopeDescriptions`). Scopes without one are shown by name. */
  scopeDescriptions?: Record<string, string>;
  /** The MCP server's name for people (`resourceName`, default: the resource's host). */
  resourceName?: string;
  /** The protected resource (MCP server URL) the access is for. */
  resourceUrl?: string;
  /** Display name of the upstream identity provider. */
  providerName: string;
  /** Where the form posts (the proxy's consent endpoint). */
  action: string;
  /** Anti-CSRF token, posted back as `csrf`. */
  csrfToken: string;
  /** Pending-authorization id, posted back as `txn`. */
  transactionId: string;
}

/**
 * Renders the consent page. Must escape everything it prints (use {@link escapeHtml}).
 *
 * @example
 * ```ts
 * const render: ConsentPageRenderer = (m) => `<h1>Allow ${escapeHtml(m.clientName)}?</h1>…`;
 * createOAuthProxy({ ...options, consent: { render } });
 * ```
 */
export type ConsentPageRenderer = (model: ConsentPageModel) => string;

const ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  '`': '&#96;',
};

/**
 * Escapes `& < > " '` and backtick for use in HTML text and quoted attribute values.
 *
 * @example
 * ```ts
 * escapeHtml('<script>alert("x")</script>'); // '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;'
 * ```
 */
export function escapeHtml(value: string): string {
  return String(value).replace(/[&<>"'`]/g, (ch) => ESCAPES[ch] ?? ch);
}

/**
 * Response headers for every HTML page the proxy renders.
 *
 * - `default-src 'none'` with `style-src 'unsafe-inline'`: the pages load nothing
 *   and run no script; only their inline `<style>` applies.
 * - `form-action` is deliberately omitted. After "Approve" the consent endpoint
 *   answers the POST with a 303 to the upstream IdP (and "Deny" with a 303 to the
 *   client's redirect URI). CSP Level 3 applies `form-action` to the redirects
 *   that follow a form submission, and Chrome enforces that, so `form-action
 *   'self'` would block the sign-in. The set of targets is not constant (any
 *   registered redirect URI, including `cursor://` and loopback ports), so it
 *   cannot be listed either. Markup injection, the threat `form-action` limits,
 *   is handled by escaping every value and by `default-src 'none'`.
 * - `frame-ancestors 'none'` and `X-Frame-Options: DENY`: no clickjacking of
 *   the Approve button.
 * - `Referrer-Policy: same-origin`: the page's URL (with the transaction id)
 *   is never sent to another origin, neither to the IdP nor to the app. It is
 *   not `no-referrer` on purpose: under `no-referrer` Chromium posts the consent
 *   form with `Origin: null`, which Origin checks such as the MCP SDK v2's
 *   `createMcpExpressApp()` refuse (403 "Invalid Origin header: null").
 * - `Cache-Control: no-store`: pages carry one-time CSRF tokens.
 *
 * @example
 * ```ts
 * import { PAGE_SECURITY_HEADERS, renderErrorPage } from 'mcp-oauth-proxy';
 * res.status(400).set(PAGE_SECURITY_HEADERS).type('html').send(renderErrorPage('Sign-in cannot continue', 'Unknown client'));
 * ```
 */
export const PAGE_SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'same-origin',
  'X-Content-Type-Options': 'nosniff',
  'Cache-Control': 'no-store',
});

const STYLE = `
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;padding:24px 16px;background:#f3f4f6;color:#111827;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;overflow-wrap:anywhere;word-break:break-word}
main{max-width:480px;margin:0 auto;background:#fff;border:1px solid #d1d5db;border-radius:12px;padding:24px;min-width:0}
h1{font-size:1.375rem;line-height:1.3;margin:0 0 8px;overflow-wrap:anywhere}
h2{font-size:1rem;margin:20px 0 6px}
p{margin:0 0 12px}
.badge{display:inline-block;font-size:.8125rem;font-weight:600;padding:2px 8px;border-radius:999px;white-space:nowrap}
.who{display:flex;flex-wrap:wrap;align-items:center;gap:8px;margin:0 0 12px}
.claimed{font-weight:400;color:#374151;min-width:0}
.idp{margin:20px 0 0;padding-top:12px;border-top:1px solid #e5e7eb}
.scopes li{margin:0 0 6px}
.details{margin-top:16px}
.unverified{background:#fef3c7;color:#78350f;border:1px solid #b45309}
.verified{background:#dcfce7;color:#14532d;border:1px solid #15803d}
.host{display:block;font-size:1.25rem;font-weight:700;color:#111827;overflow-wrap:anywhere}
.uri,code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.875rem;color:#374151;overflow-wrap:anywhere}
ul{margin:0;padding-left:20px}
dd,dt{margin:0}
.muted{color:#4b5563;font-size:.875rem}
.actions{display:flex;flex-wrap:wrap;gap:12px;margin-top:24px}
button{flex:1 1 140px;min-height:44px;font:inherit;font-weight:600;border-radius:8px;padding:10px 16px;cursor:pointer}
.approve{background:#1d4ed8;color:#fff;border:1px solid #1d4ed8}
.deny{background:#fff;color:#111827;border:1px solid #6b7280}
button:focus-visible{outline:3px solid #f59e0b;outline-offset:2px}
.approve:hover{background:#1e40af}.deny:hover{background:#f3f4f6}
`;

function page(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}

/** What the built-in scopes mean, for people. `consent.scopeDescriptions` adds to and overrides these. */
export const DEFAULT_SCOPE_DESCRIPTIONS: Readonly<Record<string, string>> = Object.freeze({
  openid: 'Confirm who you are',
  profile: 'See your name and basic profile',
  email: 'See your email address',
  offline_access: 'Stay signed in (keep access when you are not using the app)',
});

/**
 * The default consent page. The app is named by where the person will be sent
 * back (its redirect host), because that is what the server can vouch for; the
 * name the app chose for itself is shown in quotes, in normal weight, next to
 * an "Unverified" badge (or a verified metadata-document domain). Then what the
 * access is for (the MCP server's name and URL), what it allows (each scope in
 * words), the identity provider on its own line, and Deny / Approve. Long names
 * and URIs wrap at any width (390 px phones included).
 *
 * The form POSTs `csrf`, `txn` and `decision=approve|deny` to `model.action`.
 * Deny comes first in the markup, so pressing Enter never approves.
 *
 * @example
 * ```ts
 * res.set(PAGE_SECURITY_HEADERS).type('html').send(renderConsentPage({
 *   clientName: 'Claude', clientId: 'c_123', redirectUri: 'https://claude.ai/api/mcp/auth_callback',
 *   redirectHost: 'claude.ai', scopes: ['openid'], providerName: 'Acme SSO',
 *   resourceName: 'Acme Docs', resourceUrl: 'https://mcp.acme.example/mcp',
 *   action: '/oauth/consent', csrfToken, transactionId,
 * }));
 * ```
 */
export const renderConsentPage: ConsentPageRenderer = (model) => {
  const host = escapeHtml(model.redirectHost);
  const provider = escapeHtml(model.providerName);
  const server = escapeHtml(model.resourceName ?? (model.resourceUrl ? new URL(model.resourceUrl).host : 'this server'));
  const claimed = model.clientName !== model.clientId ? `<span class="claimed">calls itself “${escapeHtml(model.clientName)}”</span>` : '';
  const badge = model.verifiedDomain
    ? `<span class="badge verified">Verified domain: ${escapeHtml(model.verifiedDomain)}</span>`
    : '<span class="badge unverified">Unverified</span>';
  const note = model.verifiedDomain
    ? `<p class="muted">This app's details were published at <strong>${escapeHtml(model.verifiedDomain)}</strong>.</p>`
    : '<p class="muted">The app chose its own name; this server has not verified it. Only continue if you started this sign-in and you trust where you will be sent.</p>';
  const website = model.clientUri
    ? `<p class="muted">Website given by the app: <span class="uri">${escapeHtml(model.clientUri)}</span></p>`
    : '';
  const descriptions = { ...DEFAULT_SCOPE_DESCRIPTIONS, ...model.scopeDescriptions };
  const scopes = model.scopes.length
    ? `<ul class="scopes">${model.scopes
        .map((s) => {
          const words = Object.hasOwn(descriptions, s) ? descriptions[s] : undefined;
          return words ? `<li>${escapeHtml(words)} <code>${escapeHtml(s)}</code></li>` : `<li><code>${escapeHtml(s)}</code></li>`;
        })
        .join('')}</ul>`
    : '<p>Basic access: no specific permissions were requested.</p>';
  const resource = model.resourceUrl
    ? `<p class="muted">Server address: <span class="uri">${escapeHtml(model.resourceUrl)}</span></p>`
    : '';

  return page(
    `Allow ${model.redirectHost} to access ${model.resourceName ?? 'this server'}?`,
    `<h1>Allow <span class="host-inline">${host}</span> to access ${server}?</h1>
<p class="who">${badge}${claimed}</p>
${note}
${website}
<h2>You will be sent back to</h2>
<p><strong class="host">${host}</strong><span class="uri">${escapeHtml(model.redirectUri)}</span></p>
<h2>Access to</h2>
<p><strong>${server}</strong></p>
${resource}
<h2>It will be able to</h2>
${scopes}
<p class="idp muted">You sign in at <strong>${provider}</strong>. Client ID: <code>${escapeHtml(model.clientId)}</code></p>
<form method="post" action="${escapeHtml(model.action)}">
<input type="hidden" name="csrf" value="${escapeHtml(model.csrfToken)}">
<input type="hidden" name="txn" value="${escapeHtml(model.transactionId)}">
<div class="actions">
<button type="submit" name="decision" value="deny" class="deny">Deny</button>
<button type="submit" name="decision" value="approve" class="approve">Approve</button>
</div>
</form>`,
  );
};

/**
 * An error page for failures that must not redirect (unknown client, bad
 * `redirect_uri`, browser mismatch, store outage). It says what happened and
 * what to do in plain words; `details` (the error code and the technical
 * message) go on a small line below, for whoever helps the person. Everything
 * is escaped. Send it with {@link PAGE_SECURITY_HEADERS} and the error's status.
 *
 * @example
 * ```ts
 * res.status(400).set(PAGE_SECURITY_HEADERS).type('html')
 *   .send(renderErrorPage('This sign-in link is not valid', 'Go back to the app and start signing in again.', 'invalid_request: redirect_uri does not match'));
 * ```
 */
export function renderErrorPage(title: string, message: string, details?: string): string {
  return page(
    title,
    `<h1>${escapeHtml(title)}</h1>
<p role="alert">${escapeHtml(message)}</p>
<p class="muted">Nothing was sent to the app. You can close this window.</p>
${details ? `<p class="muted details">Details: <code>${escapeHtml(details)}</code></p>` : ''}`,
  );
}

/**
 * What an error page says to a person, by OAuth error code and HTTP status:
 * what happened, and what to do. The technical message stays in the details line.
 *
 * @example
 * ```ts
 * const { title, message } = errorPageText('access_denied', 403);
 * ```
 */
export function errorPageText(code: string, status: number): { title: string; message: string } {
  if (status === 503 || code === 'temporarily_unavailable') {
    return {
      title: 'Please try again in a moment',
      message:
        'A service this sign-in needs is not answering right now. Nothing was lost. Wait a moment, then start signing in again from your app.',
    };
  }
  if (status === 429)
    return {
      title: 'Too many attempts',
      message: 'There were too many sign-in attempts from your network. Wait a minute, then start again from your app.',
    };
  if (code === 'invalid_client')
    return {
      title: 'This app is not known here',
      message:
        'The app that sent you here is not registered with this server, or its registration has expired. Go back to the app and connect it to the server again.',
    };
  if (code === 'access_denied' && status === 403)
    return {
      title: 'This sign-in cannot be completed in this browser',
      message:
        'It was started in another browser or window, or this page was open for too long. For your safety it stops here. Go back to your app and start signing in again, in this browser.',
    };
  if (code === 'access_denied')
    return {
      title: 'Sign-in was not completed',
      message:
        "The identity provider did not complete the sign-in. Go back to your app and try again; if it keeps happening, ask the server's operator.",
    };
  if (code === 'server_error')
    return {
      title: 'Something went wrong',
      message: "The server could not finish the sign-in. Try again from your app; if it keeps happening, tell the server's operator.",
    };
  return {
    title: 'This sign-in link is not valid',
    message: 'The link is incomplete, has expired or was already used. Go back to your app and start signing in again.',
  };
}
