import { createHash, randomBytes } from 'node:crypto';
import type { CpuProbe } from './load.js';

/** The MCP client's redirect URI: never contacted, the bench reads the code from the `Location` header. */
export const CLIENT_REDIRECT_URI = 'http://127.0.0.1:9/callback';

/** Tokens the proxy's token endpoint returned. */
export interface ProxyTokens {
  access_token: string;
  refresh_token: string;
  expires_in: number;
  scope: string;
}

/** The steps of a sign-in, in order; `upstream` is the stub IdP's redirect (not the proxy's work). */
export const STEPS = ['register', 'authorize', 'consent', 'upstream', 'callback', 'token'] as const;
export type Step = (typeof STEPS)[number];

const b64url = (b: Buffer) => b.toString('base64url');

async function expectRedirect(res: Response, step: string): Promise<URL> {
  const body = await res.text();
  const location = res.headers.get('location');
  if (res.status < 300 || res.status > 399 || !location)
    throw new Error(`${step}: expected a redirect, got ${res.status} ${body.slice(0, 200)}`);
  return new URL(location, res.url);
}

/** Registers a public MCP client (RFC 7591) at the proxy; returns its client_id. */
export async function registerClient(issuer: string): Promise<string> {
  const res = await fetch(`${issuer}/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      client_name: 'bench',
      redirect_uris: [CLIENT_REDIRECT_URI],
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
    }),
  });
  const body = (await res.json()) as { client_id?: string };
  if (res.status !== 201 || !body.client_id) throw new Error(`register: ${res.status} ${JSON.stringify(body)}`);
  return body.client_id;
}

/** Called after each step (for per-step CPU accounting). */
export type StepHook = (step: Step) => Promise<void>;

const hidden = (html: string, name: string) => new RegExp(`name="${name}" value="([^"]*)"`).exec(html)?.[1]?.replace(/&amp;/g, '&');

/**
 * One complete sign-in as a fresh browser would do it: `GET /authorize` (the
 * proxy sets its browser-session cookie and shows the consent page, or goes
 * upstream at once when consent is off), `POST /consent` with the page's CSRF
 * token (approve), the upstream's immediate redirect back, `GET /callback` with
 * the cookie, then `POST /token` with the code and the PKCE verifier. Redirects
 * are followed by hand. With `clientId` undefined the client registers first
 * (RFC 7591), as a client that re-registers on every start does.
 */
export async function signIn(issuer: string, clientId: string | undefined, onStep?: StepHook): Promise<ProxyTokens> {
  if (clientId === undefined) {
    clientId = await registerClient(issuer);
    await onStep?.('register');
  }
  const verifier = b64url(randomBytes(32));
  const challenge = b64url(createHash('sha256').update(verifier).digest());
  const state = b64url(randomBytes(12));
  const authorize = new URL(`${issuer}/authorize`);
  authorize.search = new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: CLIENT_REDIRECT_URI,
    state,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  }).toString();

  const r1 = await fetch(authorize, { redirect: 'manual' });
  const cookie = r1.headers
    .getSetCookie()
    .map((c) => c.split(';', 1)[0])
    .join('; ');
  if (!cookie) throw new Error(`authorize: the proxy set no browser-session cookie (${r1.status})`);
  let upstream: URL;
  if (r1.status === 200) {
    const page = await r1.text();
    await onStep?.('authorize');
    const csrf = hidden(page, 'csrf');
    const txn = hidden(page, 'txn');
    if (!csrf || !txn) throw new Error('authorize: a 200 that is not the consent form');
    const r2 = await fetch(`${issuer}/consent`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie, origin: new URL(issuer).origin },
      body: new URLSearchParams({ csrf, txn, decision: 'approve' }),
    });
    upstream = await expectRedirect(r2, 'consent');
    await onStep?.('consent');
  } else {
    upstream = await expectRedirect(r1, 'authorize');
    await onStep?.('authorize');
  }
  const callback = await expectRedirect(await fetch(upstream, { redirect: 'manual' }), 'upstream authorize');
  await onStep?.('upstream');
  let back = await expectRedirect(await fetch(callback, { redirect: 'manual', headers: { cookie } }), 'callback');
  await onStep?.('callback');
  // Local mode chains the apps' sign-ins: each callback but the last sends the browser to the next IdP.
  while (!back.href.startsWith(CLIENT_REDIRECT_URI)) {
    const next = await expectRedirect(await fetch(back, { redirect: 'manual' }), 'upstream authorize');
    back = await expectRedirect(await fetch(next, { redirect: 'manual', headers: { cookie } }), 'callback');
  }
  const code = back.searchParams.get('code');
  if (!code || back.searchParams.get('state') !== state) throw new Error(`callback: no code or wrong state in ${back.href}`);

  const res = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      code_verifier: verifier,
      client_id: clientId,
      redirect_uri: CLIENT_REDIRECT_URI,
    }),
  });
  const tokens = (await res.json()) as ProxyTokens & { error?: string };
  if (res.status !== 200 || !tokens.access_token) throw new Error(`token: ${res.status} ${JSON.stringify(tokens)}`);
  await onStep?.('token');
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

/**
 * Runs complete sign-ins from `workers` concurrent loops for `durationMs`; counts only completed flows.
 * `register: true`: every sign-in registers its client first (a full sign-in); else all use `clientId`.
 */
export async function runSignIns(o: {
  issuer: string;
  clientId?: string;
  register?: boolean;
  workers: number;
  durationMs: number;
  cpu?: CpuProbe;
  flow?: () => Promise<unknown>;
}): Promise<SignInRun> {
  const cpu0 = await o.cpu?.();
  let completed = 0;
  let failed = 0;
  let firstError: string | undefined;
  const start = performance.now();
  const deadline = start + o.durationMs;
  const worker = async () => {
    while (performance.now() < deadline) {
      try {
        await (o.flow ? o.flow() : signIn(o.issuer, o.register ? undefined : o.clientId));
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
  return {
    completed,
    failed,
    seconds,
    perSecond: completed / seconds,
    ...(cpuMs !== undefined ? { serverCpuMsPerSignIn: cpuMs } : {}),
    ...(firstError ? { firstError } : {}),
  };
}

/**
 * Server CPU per step of a full sign-in: `count` sign-ins one after another (nothing else runs in the
 * server meanwhile), the server's CPU read before and after each step, minus what a read itself costs
 * (calibrated with empty reads). Medians per step, in µs; `total` is the median of whole sign-ins.
 */
export async function signInSteps(o: {
  issuer: string;
  count: number;
  cpu: CpuProbe;
}): Promise<{ steps: Record<string, number>; total: number; probeUs: number }> {
  const gaps: number[] = [];
  for (let i = 0; i < 50; i++) {
    const a = await o.cpu();
    gaps.push((await o.cpu()) - a);
  }
  const probeUs = gaps.sort((x, y) => x - y)[gaps.length >> 1]!;
  const per: Record<string, number[]> = {};
  const totals: number[] = [];
  for (let i = 0; i < o.count; i++) {
    const start = await o.cpu();
    let last = start;
    let probes = 0;
    await signIn(o.issuer, undefined, async (step) => {
      const now = await o.cpu();
      probes += 1;
      (per[step] ??= []).push(Math.max(0, now - last - probeUs));
      last = await o.cpu(); // the step's accounting read is not charged to the next step
      probes += 1;
    });
    totals.push(last - start - probes * probeUs);
  }
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
  return { steps: Object.fromEntries(Object.entries(per).map(([k, v]) => [k, med(v)])), total: med(totals), probeUs };
}
