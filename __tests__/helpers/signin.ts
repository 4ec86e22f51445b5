/**
 * Drives a real sign-in through the proxy without the MCP SDK: register a client
 * (RFC 7591), send a TestBrowser through /authorize and the real IdP, and stop
 * at the client's redirect URI with the one-time code. For token-endpoint and
 * session tests that need real codes and tokens with a PKCE pair of their own.
 */
import { createHash, randomBytes } from 'node:crypto';
import { TestBrowser } from './browser.js';

/** What POST /register answered (the fields tests use). */
export interface RegisteredTestClient {
  client_id: string;
  client_secret?: string;
  redirect_uris: string[];
  token_endpoint_auth_method: string;
  [k: string]: unknown;
}

/** A random loopback redirect URI nothing listens on (the browser stops before requesting it). */
export function loopbackRedirectUri(): string {
  return `http://127.0.0.1:${20000 + Math.floor(Math.random() * 40000)}/callback`;
}

/** A fresh PKCE pair (S256). */
export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

/**
 * Registers a client at `<issuer>/register`. Defaults: a public client (`none`)
 * with one loopback redirect URI. Throws with the error body on refusal.
 */
export async function registerClient(issuer: string, metadata: Record<string, unknown> = {}): Promise<RegisteredTestClient> {
  const res = await fetch(`${issuer}/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      redirect_uris: [loopbackRedirectUri()],
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      ...metadata,
    }),
  });
  const body = (await res.json()) as RegisteredTestClient;
  if (res.status !== 201) throw new Error(`registerClient: HTTP ${res.status} ${JSON.stringify(body)}`);
  return body;
}

export interface SignInOptions {
  login: string;
  /** PKCE verifier; default a fresh one (returned). */
  verifier?: string;
  /** Default the client's first redirect URI. */
  redirectUri?: string;
  scope?: string;
  resource?: string;
  /** Default a fresh browser. */
  browser?: TestBrowser;
}

export interface SignInResult {
  code: string;
  state: string;
  iss: string | null;
  verifier: string;
  redirectUri: string;
  /** The whole URL the browser was sent back to. */
  url: URL;
}

/** The proxy's /authorize URL for a client, with its own state and PKCE challenge. */
export function authorizeUrl(
  issuer: string,
  p: { clientId: string; redirectUri: string; state: string; challenge: string; scope?: string; resource?: string },
): URL {
  const url = new URL(`${issuer}/authorize`);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: p.clientId,
    redirect_uri: p.redirectUri,
    state: p.state,
    code_challenge: p.challenge,
    code_challenge_method: 'S256',
    ...(p.scope ? { scope: p.scope } : {}),
    ...(p.resource ? { resource: p.resource } : {}),
  }).toString();
  return url;
}

/**
 * Signs `login` in through the proxy at `stack.issuer` and the real IdP; resolves to
 * the code, the echoed state and `iss`. Throws when the redirect carries no code.
 */
export async function signIn(stack: { issuer: string }, client: RegisteredTestClient, o: SignInOptions): Promise<SignInResult> {
  const verifier = o.verifier ?? pkcePair().verifier;
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const redirectUri = o.redirectUri ?? client.redirect_uris[0]!;
  const state = randomBytes(12).toString('base64url');
  const browser = o.browser ?? new TestBrowser();
  const { url } = await browser.authorize(
    authorizeUrl(stack.issuer, {
      clientId: client.client_id,
      redirectUri,
      state,
      challenge,
      ...(o.scope ? { scope: o.scope } : {}),
      ...(o.resource ? { resource: o.resource } : {}),
    }),
    { login: o.login, stopAt: (u) => u.href.startsWith(redirectUri) },
  );
  const code = url.searchParams.get('code');
  if (!code) throw new Error(`signIn: no code on the redirect (error=${url.searchParams.get('error')})`);
  return { code, state: url.searchParams.get('state') ?? '', iss: url.searchParams.get('iss'), verifier, redirectUri, url };
}

/** POSTs a form to `<issuer>/token`; returns status, headers and the parsed JSON body. */
export async function tokenRequest(
  issuer: string,
  form: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; body: any }> {
  const res = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form).toString(),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON: tests assert on it */
  }
  return { status: res.status, headers: res.headers, body };
}
