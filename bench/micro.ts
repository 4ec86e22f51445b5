/**
 * Per-request CPU cost of the hot path, in-process (no HTTP, no load generator),
 * split into its parts, to find where a missed throughput target goes. Less
 * sensitive to other processes than throughput ratios: each figure is the best of
 * several repetitions. Usage: `npx tsx bench/micro.ts [iterations=20000]`
 * (bench/run.ts runs it too and puts the figures into results.json).
 */
import type { Request, Response, RequestHandler } from 'express';
import { jwtVerify } from 'jose';
import { requireBearerAuth } from '@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js';
import { MemoryStore } from '../lib/index.js';
import { sessionMiddleware } from '../lib/resource/require-session.js';
import { keys } from '../lib/stores/keys.js';
import { browserStore, createSession, quiet, services } from './sessions.js';

export interface MicroResult {
  id: string;
  label: string;
  microseconds: number;
}

async function best(iterations: number, fn: () => Promise<unknown> | unknown): Promise<number> {
  let min = Infinity;
  for (let rep = 0; rep < 5; rep++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) await fn();
    const us = Number(process.hrtime.bigint() - t0) / 1000 / iterations;
    if (us < min) min = us;
  }
  return min;
}

function fakeRes(): Response {
  const fail = () => {
    throw new Error('the middleware answered with an error: the micro-benchmark is invalid');
  };
  return { status: fail, set: fail, json: fail, setHeader: fail, end: fail } as unknown as Response;
}

/** Runs a middleware once with a bearer token; resolves when it calls next(). */
const through = (mw: RequestHandler, token: string) =>
  new Promise<Request>((resolve, reject) => {
    const req = { headers: { authorization: `Bearer ${token}` } } as Request;
    try {
      mw(req, fakeRes(), (err?: unknown) => (err ? reject(err) : resolve(req)));
    } catch (err) {
      reject(err);
    }
  });

export async function runMicro(iterations = 20_000): Promise<MicroResult[]> {
  const store = new MemoryStore({ logger: quiet });
  const ctx = services(store);
  const template = {
    cookie: { originalMaxAge: 1000, expires: new Date(Date.now() + 1000).toISOString(), httpOnly: true, path: '/oauth', sameSite: 'lax' },
  } as never;
  const sid = await createSession(ctx, { store: browserStore(ctx), template });
  const { token } = await ctx.accessTokens.mint({
    sub: 'bench-user',
    sid,
    clientId: 'mop_client_bench',
    scope: 'profile',
    upstreamClaims: { sub: 'bench-user', name: 'Bench User', email: 'user@bench.example' },
  });
  const mw = sessionMiddleware(ctx);
  const key = new Uint8Array(Buffer.from('bench-signing-secret-0123456789-abcdefghijk', 'utf8'));
  const resource = ctx.urls.resource;
  const sdk = requireBearerAuth({
    verifier: {
      async verifyAccessToken(t: string) {
        const { payload } = await jwtVerify(t, key, {
          algorithms: ['HS256'],
          issuer: ctx.urls.issuer,
          audience: resource,
          typ: 'at+jwt',
          requiredClaims: ['sub', 'exp'],
        });
        return {
          token: t,
          clientId: String(payload.client_id),
          scopes: String(payload.scope ?? '').split(' '),
          expiresAt: payload.exp,
          resource: new URL(resource),
        };
      },
    },
  });
  const pid = ctx.upstreams.primary.id;
  const sealed = (await ctx.store.get(keys.vault(sid, pid)))!;
  const aad = `${sid}|${pid}|upstream-tokens`;
  const plain = ctx.sealer.open(sealed, aad)!;
  if ((await (await through(mw, token)).upstreamTokens!.tryGetToken()) === null) throw new Error('no upstream token');

  const cases: Array<[string, string, () => Promise<unknown> | unknown]> = [
    ['noop', 'await of a resolved promise (loop overhead)', () => Promise.resolve()],
    ['require-session', 'requireSession() middleware (cached token)', () => through(mw, token)],
    ['require-session-vault', 'requireSession() + tryGetToken()', async () => (await through(mw, token)).upstreamTokens!.tryGetToken()],
    ['sdk-bearer', 'SDK requireBearerAuth + jose jwtVerify', () => through(sdk, token)],
    ['verify-cached', '  accessTokens.verify() cache hit', () => ctx.accessTokens.verify(token)],
    ['broker-get', '  broker.get() (vault read + decrypt + parse)', () => ctx.broker.get(sid, pid)],
    ['vault-get', '    vault.get()', () => ctx.vault.get(sid, pid)],
    ['store-get', '      MemoryStore.get() (under the proxy namespace)', () => ctx.store.get(keys.vault(sid, pid))],
    ['sealer-open', '      sealer.open() (AES-256-GCM)', () => ctx.sealer.open(sealed, aad)],
    ['json-parse', '      JSON.parse() of the token set', () => JSON.parse(plain)],
    ['jose-verify', '  jose jwtVerify HS256 (uncached)', () => jwtVerify(token, key, { algorithms: ['HS256'] })],
  ];
  const out: MicroResult[] = [];
  for (const [id, label, fn] of cases) {
    const n = id === 'jose-verify' || id === 'sdk-bearer' ? Math.max(200, Math.floor(iterations / 10)) : iterations;
    await best(Math.min(n, 1000), fn); // warm-up
    out.push({ id, label, microseconds: await best(n, fn) });
  }
  await store.close();
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const results = await runMicro(Number(process.argv[2] ?? 20_000));
  for (const r of results) console.log(`${r.microseconds.toFixed(2).padStart(8)} µs  ${r.label}`);
}
