/**
 * Small OAuth-client building blocks for HTTP/e2e tests that drive the proxy by hand (no SDK):
 * PKCE, registration, authorize URLs, the token request, and a server-side request watcher that
 * sees every request a local http server handles (to prove something was NOT contacted).
 */
import { createHash, randomBytes } from 'node:crypto';
import diagnostics from 'node:diagnostics_channel';
import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Pkce {
  verifier: string;
  challenge: string;
}

/** A fresh S256 PKCE pair. */
export function pkce(): Pkce {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

export interface RegisteredClientInfo {
  client_id: string;
  client_secret?: string;
  redirect_uris: string[];
  [k: string]: unknown;
}

/** POST `<issuer>/register`; throws with the error body unless 201. */
export async function registerClient(issuer: string, metadata: Record<string, unknown>): Promise<RegisteredClientInfo> {
  const res = await fetch(`${issuer}/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(metadata),
  });
  const body = (await res.json()) as RegisteredClientInfo;
  if (res.status !== 201) throw new Error(`registration failed with HTTP ${res.status}: ${JSON.stringify(body)}`);
  return body;
}

export interface AuthorizeParams {
  clientId: string;
  redirectUri?: string;
  challenge: string;
  state?: string;
  scope?: string;
  resource?: string;
}

/** `<issuer>/authorize?response_type=code&…` with PKCE S256. */
export function authorizeUrl(issuer: string, p: AuthorizeParams): URL {
  const url = new URL(`${issuer}/authorize`);
  const q = url.searchParams;
  q.set('response_type', 'code');
  q.set('client_id', p.clientId);
  if (p.redirectUri !== undefined) q.set('redirect_uri', p.redirectUri);
  q.set('code_challenge', p.challenge);
  q.set('code_challenge_method', 'S256');
  if (p.state !== undefined) q.set('state', p.state);
  if (p.scope !== undefined) q.set('scope', p.scope);
  if (p.resource !== undefined) q.set('resource', p.resource);
  return url;
}

/** The authorization_code grant for a public client (or `client_secret_post`). Returns status and JSON body. */
export async function exchangeCode(
  issuer: string,
  p: { clientId: string; code: string; verifier: string; redirectUri: string; clientSecret?: string },
): Promise<{ status: number; body: Record<string, any> }> {
  const form = new URLSearchParams({
    grant_type: 'authorization_code',
    code: p.code,
    code_verifier: p.verifier,
    redirect_uri: p.redirectUri,
    client_id: p.clientId,
  });
  if (p.clientSecret) form.set('client_secret', p.clientSecret);
  const res = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: form.toString(),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

export interface RequestWatch {
  /** `METHOD /path` (no query) of every request the server on `port` received since the watch began. */
  readonly requests: string[];
  /** How many requests went to `path` (any method). */
  count(path: string): number;
  stop(): void;
}

/**
 * Records every request any `http.Server` listening on `port` in this process handles, through
 * Node's `http.server.request.start` diagnostics channel: the observation is server-side, so it
 * also sees requests made by the proxy or by a test browser. Call `stop()` when done.
 */
export function watchRequests(port: number): RequestWatch {
  const requests: string[] = [];
  const listener = (message: unknown) => {
    const { request, server } = message as { request: IncomingMessage; server: Server };
    const addr = server.address() as AddressInfo | null;
    if (addr?.port !== port) return;
    requests.push(`${request.method} ${(request.url ?? '/').split('?')[0]}`);
  };
  diagnostics.subscribe('http.server.request.start', listener);
  return {
    requests,
    count: (path) => requests.filter((r) => r.split(' ')[1] === path).length,
    stop: () => {
      diagnostics.unsubscribe('http.server.request.start', listener);
    },
  };
}
