/**
 * Server-rendered HTML for the consent page and for errors that must not
 * redirect. No scripts, no external assets: inline CSS only, so the pages work
 * under {@link PAGE_SECURITY_HEADERS}.
 */

import { escapeHtml, page } from './page.js';

export { escapeHtml, PAGE_SECURITY_HEADERS } from './page.js';
export { renderErrorPage, errorPageText, renderNoticePage } from './error-page.js';

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
  /**
   * Local mode: the apps this authorization can connect, each signed in at its
   * own IdP. Post the chosen ones back as `app` fields (a required app is always
   * connected; a connected one stays connected).
   */
  apps?: ConsentApp[];
  /**
   * Local mode, an `?app=` link: the page connects an app to an existing session and nobody is
   * redirected at the end; `redirectUri` then only names the client.
   */
  linkOnly?: boolean;
}

/**
 * One app on the consent page (local mode).
 *
 * @example
 * ```ts
 * const app: ConsentApp = { id: 'erp', name: 'ERP', providerName: 'erp-idp.example.com', required: false, connected: false };
 * ```
 */
export interface ConsentApp {
  id: string;
  name: string;
  description?: string;
  /** The host of the app's IdP, where the person signs in. */
  providerName: string;
  /** Cannot be skipped. */
  required: boolean;
  /** Already connected to this session (step-up): no new sign-in. */
  connected: boolean;
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
<h2>${model.linkOnly ? 'For the app at' : 'You will be sent back to'}</h2>
<p><strong class="host">${host}</strong><span class="uri">${escapeHtml(model.redirectUri)}</span></p>
${model.linkOnly ? '<p class="muted">You stay on this server; the app can use the connected app from its next sign-in renewal.</p>' : ''}
<h2>Access to</h2>
<p><strong>${server}</strong></p>
${resource}
<h2>It will be able to</h2>
${scopes}
${model.apps ? '' : `<p class="idp muted">You sign in at <strong>${provider}</strong>. Client ID: <code>${escapeHtml(model.clientId)}</code></p>`}
<form method="post" action="${escapeHtml(model.action)}">
${model.apps ? appList(model.apps, model.clientId) : ''}
<input type="hidden" name="csrf" value="${escapeHtml(model.csrfToken)}">
<input type="hidden" name="txn" value="${escapeHtml(model.transactionId)}">
<div class="actions">
<button type="submit" name="decision" value="deny" class="deny">Deny</button>
<button type="submit" name="decision" value="approve" class="approve">Approve</button>
</div>
</form>`,
  );
};

/** The apps fieldset of local mode: required apps fixed, connected ones marked, the others skippable (checked). */
function appList(apps: readonly ConsentApp[], clientId: string): string {
  const items = apps.map((a) => {
    const name = `<strong>${escapeHtml(a.name)}</strong>`;
    const what = a.description ? ` <span class="muted">${escapeHtml(a.description)}</span>` : '';
    const where = `<span class="muted">Sign in at ${escapeHtml(a.providerName)}</span>`;
    if (a.connected) return `<li class="app">${name}${what}<br><span class="badge verified">Connected</span></li>`;
    if (a.required)
      return `<li class="app"><input type="hidden" name="app" value="${escapeHtml(a.id)}">${name} <span class="badge unverified">Required</span>${what}<br>${where}</li>`;
    const id = `app-${escapeHtml(a.id)}`;
    return `<li class="app"><input type="checkbox" id="${id}" name="app" value="${escapeHtml(a.id)}" checked> <label for="${id}">${name}</label>${what}<br>${where}</li>`;
  });
  return `<h2>Apps to connect</h2>
<p class="muted">Each app signs you in at its own identity provider, one after another. Untick an app to skip it; you can connect it later.</p>
<ul class="apps">${items.join('')}</ul>
<p class="idp muted">Client ID: <code>${escapeHtml(clientId)}</code></p>`;
}
