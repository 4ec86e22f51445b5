/**
 * The second peer baseline: punkpeye's `fastmcp` (npm `fastmcp`) with its OAuth proxy
 * (`OAuthProvider` → `OAuthProxy`), signing in at the same stub upstream.
 *
 * - Server side (`startFastMcp`, in the bench server process so its CPU is measured with the
 *   proxy's): a real FastMCP server with `transportType: 'httpStream'` on a free loopback port,
 *   serving its own `/oauth/register`, `/oauth/authorize`, `/oauth/consent`, `/oauth/callback` and
 *   `/oauth/token`; and `fastmcpAuth()`, its `authenticate()` (what its HTTP transport calls for
 *   each request: verify its JWT, look up the token mapping, decrypt the upstream tokens) as Express
 *   middleware, so its hot path runs in front of the very handler the other cases use.
 * - Client side (`fastmcpSignIn`): register → authorize → consent (approve) → upstream → callback →
 *   token, as bench/signin.ts does for the proxy.
 */
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import type { RequestHandler } from 'express';
import { CLIENT_REDIRECT_URI, type ProxyTokens } from './signin.js';

/** A free loopback port (listen on 0, close, reuse the number). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

interface FastMcpAuth {
  authenticate(req: unknown): Promise<unknown>;
}

/** Starts fastmcp with its OAuth proxy in front of the stub upstream; resolves with its base URL and Express middleware. */
export async function startFastMcp(upstream: string): Promise<{ base: string; auth: RequestHandler; stop(): Promise<void> }> {
  const { FastMCP } = await import('fastmcp');
  const { OAuthProvider } = await import('fastmcp/auth');
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const provider = new OAuthProvider({
    baseUrl: base,
    clientId: 'bench-fastmcp',
    clientSecret: 'bench-fastmcp-upstream-secret',
    authorizationEndpoint: `${upstream}/authorize`,
    tokenEndpoint: `${upstream}/token`,
    scopes: ['profile'],
    allowedRedirectUriPatterns: ['http://127.0.0.1:*'],
    consentRequired: true,
    encryptionKey: 'bench-fastmcp-encryption-key-0123456789abcdef',
    jwtSigningKey: 'bench-fastmcp-jwt-signing-key-0123456789abcdef',
  } as ConstructorParameters<typeof OAuthProvider>[0]);
  const server = new FastMCP({ name: 'bench', version: '1.0.0', auth: provider } as ConstructorParameters<typeof FastMCP>[0]);
  server.addTool({ name: 'ping', description: 'ping', execute: async () => 'pong' });
  await server.start({ transportType: 'httpStream', httpStream: { port, host: '127.0.0.1' } });
  const p = provider as unknown as FastMcpAuth;
  const auth: RequestHandler = (req, res, next) => {
    p.authenticate(req).then((session) => {
      if (session) next();
      else res.status(401).json({ error: 'invalid_token' });
    }, next);
  };
  return { base, auth, stop: () => server.stop() };
}

const b64url = (b: Buffer) => b.toString('base64url');
async function redirect(res: Response, step: string): Promise<URL> {
  const body = await res.text();
  const location = res.headers.get('location');
  if (res.status < 300 || res.status > 399 || !location)
    throw new Error(`fastmcp ${step}: expected a redirect, got ${res.status} ${body.slice(0, 200)}`);
  return new URL(location, res.url);
}

/** One complete fastmcp sign-in, registration included. */
export async function fastmcpSignIn(base: string): Promise<ProxyTokens> {
  const reg = await fetch(`${base}/oauth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      client_name: 'bench',
      redirect_uris: [CLIENT_REDIRECT_URI],
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
    }),
  });
  const client = (await reg.json()) as { client_id?: string; client_secret?: string };
  if (reg.status !== 201 || !client.client_id) throw new Error(`fastmcp register: ${reg.status} ${JSON.stringify(client)}`);
  const verifier = b64url(randomBytes(32));
  const state = b64url(randomBytes(12));
  const authorize = new URL(`${base}/oauth/authorize`);
  authorize.search = new URLSearchParams({
    response_type: 'code',
    client_id: client.client_id,
    redirect_uri: CLIENT_REDIRECT_URI,
    state,
    code_challenge: b64url(createHash('sha256').update(verifier).digest()),
    code_challenge_method: 'S256',
    scope: 'profile',
  }).toString();
  const r1 = await fetch(authorize, { redirect: 'manual' });
  let upstream: URL;
  if (r1.status === 200) {
    const page = await r1.text();
    const txn = /name="transaction_id" value="([^"]*)"/.exec(page)?.[1];
    if (!txn) throw new Error('fastmcp authorize: a 200 without the consent form');
    const r2 = await fetch(`${base}/oauth/consent`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ transaction_id: txn.replace(/&amp;/g, '&'), action: 'approve' }),
    });
    upstream = await redirect(r2, 'consent');
  } else {
    upstream = await redirect(r1, 'authorize');
  }
  const callback = await redirect(await fetch(upstream, { redirect: 'manual' }), 'upstream authorize');
  const back = await redirect(await fetch(callback, { redirect: 'manual' }), 'callback');
  const code = back.searchParams.get('code');
  if (!code) throw new Error(`fastmcp callback: no code in ${back.href}`);
  const res = await fetch(`${base}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      code_verifier: verifier,
      client_id: client.client_id,
      redirect_uri: CLIENT_REDIRECT_URI,
      ...(client.client_secret ? { client_secret: client.client_secret } : {}),
    }),
  });
  const tokens = (await res.json()) as ProxyTokens & { error?: string };
  if (res.status !== 200 || !tokens.access_token) throw new Error(`fastmcp token: ${res.status} ${JSON.stringify(tokens)}`);
  return tokens;
}
