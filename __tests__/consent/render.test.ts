import { describe, expect, it } from '@jest/globals';
import { PAGE_SECURITY_HEADERS, escapeHtml, renderConsentPage, renderErrorPage, errorPageText } from '../../lib/consent/render.js';
import type { ConsentPageModel } from '../../lib/consent/render.js';

const model: ConsentPageModel = {
  clientName: 'Claude',
  clientId: 'mop_client_abc',
  redirectUri: 'https://claude.ai/api/mcp/auth_callback',
  redirectHost: 'claude.ai',
  scopes: ['openid', 'profile'],
  providerName: 'Acme SSO',
  action: '/oauth/consent',
  csrfToken: 'csrf-token-123',
  transactionId: 'txn-456',
};

describe('escapeHtml', () => {
  it('escapes & < > " \' and backtick', () => {
    expect(escapeHtml(`<a href="x" title='y'>&\`</a>`)).toBe('&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&#96;&lt;/a&gt;');
    expect(escapeHtml('plain text')).toBe('plain text');
  });
});

describe('renderConsentPage', () => {
  it('is a complete, accessible, script-free document', () => {
    const html = renderConsentPage(model);
    expect(html).toMatch(/^<!DOCTYPE html>/);
    expect(html).toContain('<html lang="en">');
    expect(html).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">');
    // The heading names the app by its redirect host, which the server can vouch for; never by its self-chosen name.
    expect(html).toMatch(/<h1>Allow <span class="host-inline">claude\.ai<\/span> to access [^<]+\?<\/h1>/);
    expect(html).not.toMatch(/<h1>[^\n]*Claude/);
    expect(html).toMatch(/<h2>/);
    expect(html).not.toMatch(/<script|<link|<img|@import|url\(|https?:\/\/(?!claude\.ai)/i);
  });

  it('posts csrf, txn and a decision to the action, Deny first', () => {
    const html = renderConsentPage(model);
    expect(html).toContain('<form method="post" action="/oauth/consent">');
    expect(html).toContain('<input type="hidden" name="csrf" value="csrf-token-123">');
    expect(html).toContain('<input type="hidden" name="txn" value="txn-456">');
    const deny = html.indexOf('<button type="submit" name="decision" value="deny"');
    const approve = html.indexOf('<button type="submit" name="decision" value="approve"');
    expect(deny).toBeGreaterThan(0);
    expect(approve).toBeGreaterThan(deny);
    expect(html).toMatch(/value="approve"[^>]*>Approve<\/button>/);
    expect(html).toMatch(/value="deny"[^>]*>Deny<\/button>/);
  });

  it('makes the redirect host prominent and shows the full URI, the scopes and the provider', () => {
    const html = renderConsentPage(model);
    expect(html).toContain('<strong class="host">claude.ai</strong>');
    expect(html).toMatch(/\.host\{[^}]*font-weight:700/);
    expect(html).toContain('https://claude.ai/api/mcp/auth_callback');
    expect(html).toContain('<li>Confirm who you are <code>openid</code></li><li>See your name and basic profile <code>profile</code></li>');
    expect(html).toContain('Acme SSO');
    expect(html).toContain('mop_client_abc');
  });

  it('marks a client unverified, and a metadata-document client with its verified domain', () => {
    // The self-chosen name in quotes, normal weight, next to the badge.
    expect(renderConsentPage(model)).toMatch(
      /<p class="who"><span class="badge unverified">Unverified<\/span><span class="claimed">calls itself “Claude”<\/span><\/p>/,
    );
    expect(renderConsentPage(model)).toMatch(/\.claimed\{font-weight:400/);
    const verified = renderConsentPage({ ...model, verifiedDomain: 'app.example.com' });
    expect(verified).toContain('Verified domain: app.example.com');
    expect(verified).not.toContain('Unverified');
  });

  it('says when no scopes are requested and shows the claimed client URI as text', () => {
    const html = renderConsentPage({ ...model, scopes: [], clientUri: 'https://claude.ai/about' });
    expect(html).toContain('no specific permissions');
    expect(html).toContain('https://claude.ai/about');
    expect(html).not.toContain('<a ');
  });

  it('escapes every value it prints', () => {
    const hostile = '<script>alert("x")</script>\'`&';
    const html = renderConsentPage({
      clientName: hostile,
      clientId: hostile,
      clientUri: hostile,
      redirectUri: hostile,
      redirectHost: hostile,
      verifiedDomain: hostile,
      scopes: [hostile],
      providerName: hostile,
      action: `"><script>x</script>`,
      csrfToken: `"><img src=x>`,
      transactionId: `' onfocus='x`,
    });
    expect(html).not.toContain('<script>');
    expect(html).not.toContain('<img');
    expect(html).not.toContain(`' onfocus='x`);
    expect(html).not.toMatch(/value=""/);
    expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#39;&#96;&amp;');
    expect(html).toContain('action="&quot;&gt;&lt;script&gt;x&lt;/script&gt;"');
    expect(html).toContain('<title>Allow &lt;script&gt;');
  });
});

describe('renderErrorPage', () => {
  it('renders an escaped, styled page with the title as heading', () => {
    const html = renderErrorPage('Invalid <redirect_uri>', 'The app sent "javascript:alert(1)" & more');
    expect(html).toContain('<html lang="en">');
    expect(html).toContain('<title>Invalid &lt;redirect_uri&gt;</title>');
    expect(html).toContain('<h1>Invalid &lt;redirect_uri&gt;</h1>');
    expect(html).toContain('The app sent &quot;javascript:alert(1)&quot; &amp; more');
    expect(html).toContain('<style>');
    expect(html).not.toMatch(/<script|<form/);
  });
});

describe('PAGE_SECURITY_HEADERS', () => {
  it('locks the pages down', () => {
    expect(PAGE_SECURITY_HEADERS).toEqual({
      'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
      'X-Frame-Options': 'DENY',
      'Referrer-Policy': 'same-origin',
      'X-Content-Type-Options': 'nosniff',
      'Cache-Control': 'no-store',
    });
    // Omitted on purpose: Chrome applies form-action to the 303 redirect to the upstream IdP after Approve.
    expect(PAGE_SECURITY_HEADERS['Content-Security-Policy']).not.toContain('form-action');
    expect(Object.isFrozen(PAGE_SECURITY_HEADERS)).toBe(true);
  });
});

describe('consent page content (issue 13)', () => {
  it('says access to what: the server name and its URL', () => {
    const html = renderConsentPage({ ...model, resourceName: 'Acme Docs', resourceUrl: 'https://mcp.acme.example/mcp' });
    expect(html).toContain('<h2>Access to</h2>\n<p><strong>Acme Docs</strong></p>');
    expect(html).toContain('Server address: <span class="uri">https://mcp.acme.example/mcp</span>');
    expect(html).toMatch(/to access Acme Docs\?<\/h1>/);
  });

  it('explains scopes in words: offline_access is "stay signed in", and scopeDescriptions cover the server\'s own', () => {
    const html = renderConsentPage({
      ...model,
      scopes: ['offline_access', 'mcp:write', 'other'],
      scopeDescriptions: { 'mcp:write': 'Change your <documents>' },
    });
    expect(html).toContain('<li>Stay signed in (keep access when you are not using the app) <code>offline_access</code></li>');
    expect(html).toContain('<li>Change your &lt;documents&gt; <code>mcp:write</code></li>');
    expect(html).toContain('<li><code>other</code></li>');
  });

  it('gives the identity-provider line its own spacing', () => {
    const html = renderConsentPage(model);
    expect(html).toMatch(/<p class="idp muted">You sign in at <strong>Acme SSO<\/strong>/);
    expect(html).toMatch(/\.idp\{margin:20px 0 0;padding-top:12px/);
  });
});

describe('error pages speak to people', () => {
  it('say what happened and what to do; the code stays on a details line', () => {
    const html = renderErrorPage(
      errorPageText('access_denied', 403).title,
      errorPageText('access_denied', 403).message,
      'CSRF check failed (access_denied)',
    );
    expect(html).toContain('<h1>This sign-in cannot be completed in this browser</h1>');
    expect(html).toContain('Go back to your app and start signing in again, in this browser.');
    expect(html).toContain('<p class="muted details">Details: <code>CSRF check failed (access_denied)</code></p>');
    expect(errorPageText('invalid_request', 400).message).toMatch(/start signing in again/);
    expect(errorPageText('temporarily_unavailable', 503).title).toBe('Please try again in a moment');
    expect(errorPageText('invalid_client', 400).title).toBe('This app is not known here');
  });
});
