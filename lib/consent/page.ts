/**
 * Internal: what every built-in page shares: HTML escaping, the page security
 * headers and the page frame (inline CSS only, no scripts, no external assets).
 */

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
.apps{list-style:none;padding:0}.apps li{margin:0 0 10px}.apps input{width:20px;height:20px;vertical-align:middle}
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

/** Internal: the page frame every built-in page shares (inline CSS, no scripts). */
export function page(title: string, body: string): string {
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
