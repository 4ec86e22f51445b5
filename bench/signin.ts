import { createHash, randomBytes } from 'node:crypto';

/** The MCP client's redirect URI: never contacted, the bench reads the code from the `Location` header. */
export const CLIENT_REDIRECT_URI = 'http://127.0.0.1:9/callback';

/** Tokens the proxy's token endpoint returned. */
export interface ProxyTokens {
  access_token: string;
  refresh_token: string;
  expires_in: number;
  scope: string;
}

const b64url = (b: Buffer) => b.toString('base64url');

async function expectRedirect(res: Response, step: string): Promise<URL> {
  const body = await res.text();
  const location = res.headers.get('location');
  if (res.status < 300 || res.status > 399 || !location) throw new Error(`${step}: expected a redirect, got ${res.status} ${body.slice(0, 200)}`);
  return new URL(location, res.url);
}

/** Registers a public MCP client (RFC 7591) at the proxy; returns its client_id. */
export async function registerClient(issuer: string): Promise<string> {
  const res = await fetch(`${issuer}/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ client_name: 'bench', redirect_uris: [CLIENT_REDIRECT_URI], token_endpoint_auth_method: 'none', grant_types: ['authorization_code', 'refresh_token'] }),
  });
  const body = await res.json() as { client_id?: string };
  if (res.status !== 201 || !body.client_id) throw new Error(`register: ${res.status} ${JSON.stringify(body)}`);
  return body.client_id;
}

/**
 * One complete sign-in as a fresh browser would do it: `GET /authorize` (the
 * proxy sets its browser-session cookie and redirects upstream), the upstream's
 * immediate redirect back, `GET /callback` with the cookie, then `POST /token`
 * with the code and the PKCE verifier. Redirects are followed by hand.
 */
export async function signIn(issuer: string, clientId: string): Promise<ProxyTokens> {
  const verifier = b64url(randomBytes(32));
  const challenge = b64url(createHash('sha256').update(verifier).digest());
  const state = b64url(randomBytes(12));
  const authorize = new URL(`${issuer}/authorize`);
  authorize.search = new URLSearchParams({
    response_type: 'code', client_id: clientId, redirect_uri: CLIENT_REDIRECT_URI, state,
    code_challenge: challenge, code_challenge_method: 'S256',
  }).toString();

  const r1 = await fetch(authorize, { redirect: 'manual' });
  const cookie = r1.headers.getSetCookie().map((c) => c.split(';', 1)[0]).join('; ');
  const upstream = await expectRedirect(r1, 'authorize');
  if (!cookie) throw new Error('authorize: the proxy set no browser-session cookie');
  const callback = await expectRedirect(await fetch(upstream, { redirect: 'manual' }), 'upstream authorize');
  const back = await expectRedirect(await fetch(callback, { redirect: 'manual', headers: { cookie } }), 'callback');
  const code = back.searchParams.get('code');
  if (!code || back.searchParams.get('state') !== state) throw new Error(`callback: no code or wrong state in ${back.href}`);

  const res = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, code_verifier: verifier, client_id: clientId, redirect_uri: CLIENT_REDIRECT_URI }),
  });
  const tokens = await res.json() as ProxyTokens & { error?: string };
  if (res.status !== 200 || !tokens.access_token) throw new Error(`token: ${res.status} ${JSON.stringify(tokens)}`);
  return tokens;
}

/** Result of {@link runSignIns}. */
export interface SignInRun {
  completed: number;
  failed: number;
  seconds: number;
  perSecond: number;
  /** Server CPU time per completed sign-in, in ms (when a CPU probe was given). */
  serverCpuMsPerSignIn?: number;
  firstError?: string;
}

/** Runs complete sign-ins from `workers` concurrent loops for `durationMs`; counts only completed flows. */
export async function runSignIns(o: { issuer: string; clientId: string; workers: number; durationMs: number; cpu?: () => Promise<number> }): Promise<SignInRun> {
  const cpu0 = await o.cpu?.();
  let completed = 0;
  let failed = 0;
  let firstError: string | undefined;
  const start = performance.now();
  const deadline = start + o.durationMs;
  const worker = async () => {
    while (performance.now() < deadline) {
      try {
        await signIn(o.issuer, o.clientId);
        completed += 1;
      } catch (err) {
        failed += 1;
        firstError ??= err instanceof Error ? err.message : String(err);
      }
    }
  };
  await Promise.all(Array.from({ length: o.workers }, worker));
  const seconds = (performance.now() - start) / 1000;
  const cpu1 = await o.cpu?.();
  const cpuMs = cpu0 !== undefined && cpu1 !== undefined && completed > 0 ? (cpu1 - cpu0) / 1000 / completed : undefined;
  return { completed, failed, seconds, perSecond: completed / seconds, ...(cpuMs !== undefined ? { serverCpuMsPerSignIn: cpuMs } : {}), ...(firstError ? { firstError } : {}) };
}
