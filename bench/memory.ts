/**
 * Memory benchmark (run by bench/run.ts as `node --expose-gc --import tsx bench/memory.ts`):
 *  1. calibration: real HTTP sign-ins against a proxy + stub upstream on loopback, recording which
 *     store keys a completed sign-in leaves; the cheap path must leave the same kinds, as many;
 *  2. bytes per live session in MemoryStore for each requested count (heap delta after global.gc());
 *  3. the bound: `new MemoryStore({ maxEntries: N })` with 2N sessions never holds more than N entries,
 *     and after every TTL has passed the periodic sweep empties it and the heap returns to baseline;
 *  4. bytes per entry of the verified-access-token cache (bounded by its own size).
 * Prints `RESULT <json>` on stdout; progress goes to stderr.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import express from 'express';
import type { SessionData } from 'express-session';
import { createOAuthProxy, MemoryStore } from '../lib/index.js';
import { startStubUpstream } from './upstream.js';
import { registerClient, signIn } from './signin.js';
import { RecordingStore, browserStore, createSession, kindOf, quiet, services } from './sessions.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');
const log = (s: string) => process.stderr.write(`${s}\n`);

async function heap(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    gc!();
    await sleep(10);
  }
  return process.memoryUsage().heapUsed;
}

/** Real sign-ins over HTTP; returns the live key kinds per sign-in and a real browser-session record. */
async function calibrate(count: number): Promise<{ perSignIn: Record<string, number>; template: SessionData }> {
  const upstream = await startStubUpstream();
  const app = express();
  const server = http.createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const store = new RecordingStore();
  const oauth = createOAuthProxy({
    issuer: `${base}/oauth`,
    provider: upstream.issuer,
    clientId: 'bench-proxy',
    clientSecret: 'bench-proxy-upstream-secret',
    scopes: ['profile'],
    providerConfig: { id: 'upstream' },
    secret: 'bench-signing-secret-0123456789-abcdefghijk',
    encryptionKey: 'bench-vault-key-0123456789-abcdefghijklmnopq',
    consent: { enabled: false },
    registration: { rateLimit: false },
    logger: quiet,
    store,
  });
  app.use('/oauth', oauth);
  try {
    const clientId = await registerClient(`${base}/oauth`);
    const before = store.kinds();
    for (let i = 0; i < count; i++) await signIn(`${base}/oauth`, clientId);
    const after = store.kinds();
    const perSignIn: Record<string, number> = {};
    for (const [k, v] of Object.entries(after)) {
      const d = v - (before[k] ?? 0);
      if (d) perSignIn[k] = d / count;
    }
    const bsess = [...store.live].find((k) => kindOf(k) === 'bsess');
    const template = JSON.parse((await store.get(bsess!))!) as SessionData;
    return { perSignIn, template };
  } finally {
    await oauth.close();
    await store.close();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    await upstream.close();
  }
}

/** Keeps what a measurement holds reachable until its heap reading is taken (V8 may drop dead locals early). */
const alive: unknown[] = [];
type Template = SessionData;

/** Bytes per live session with `n` sessions in an uncapped MemoryStore. */
async function perSession(n: number, template: Template, apps = 1) {
  const store = new MemoryStore({ maxEntries: n * 10, logger: quiet });
  const ctx = services(store);
  const bs = browserStore(ctx);
  const before = await heap();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await createSession(ctx, { store: bs, template }, { apps });
  const seconds = (performance.now() - t0) / 1000;
  alive.push(store, ctx);
  const after = await heap();
  const entries = store.size;
  alive.length = 0;
  await store.close();
  log(
    `  ${n} sessions, ${apps} linked app${apps > 1 ? 's' : ''}: ${entries} entries, ${((after - before) / 1048576).toFixed(1)} MiB heap, ${((after - before) / n).toFixed(0)} B/session (created in ${seconds.toFixed(1)} s)`,
  );
  return { sessions: n, apps, entries, bytes: after - before, bytesPerSession: (after - before) / n, seconds };
}

/** The bound: a store capped at `maxEntries`, 2 × maxEntries sessions, then every TTL passes. */
async function bound(maxEntries: number, template: Template) {
  let now = Date.now();
  const clock = () => now;
  // Durable and short-lived entries have separate bounds (issue 12): both set to maxEntries here, and both checked.
  const capped = new MemoryStore({ maxEntries, maxShortLivedEntries: maxEntries, sweepIntervalMs: 25, clock, logger: quiet });
  const ctx = services(capped, { clock });
  const bs = browserStore(ctx);
  const baseline = await heap();
  let maxEntriesSeen = 0; // durable entries
  let maxShortSeen = 0;
  for (let i = 0; i < 2 * maxEntries; i++) {
    await createSession(ctx, { store: bs, template });
    maxEntriesSeen = Math.max(maxEntriesSeen, capped.size - capped.shortLivedSize);
    maxShortSeen = Math.max(maxShortSeen, capped.shortLivedSize);
  }
  alive.push(capped, ctx);
  const cappedBytes = (await heap()) - baseline;
  now += (ctx.options.refreshTokenTtl + 24 * 3600) * 1000; // past every TTL the proxy sets (longest: the 30-day session)
  const sweepStart = performance.now();
  while (capped.size > 0 && performance.now() - sweepStart < 5000) await sleep(10); // the periodic sweep, not a manual call
  const sweptMs = performance.now() - sweepStart;
  const entriesAfterSweep = capped.size;
  const bytesAfterSweep = (await heap()) - baseline;
  alive.length = 0;
  await capped.close();
  log(
    `  bound: maxEntries ${maxEntries}, ${2 * maxEntries} sessions → at most ${maxEntriesSeen} durable + ${maxShortSeen} short-lived entries (${(cappedBytes / 1048576).toFixed(1)} MiB); after expiry the sweep left ${entriesAfterSweep} entries within ${sweptMs.toFixed(0)} ms, heap ${(bytesAfterSweep / 1048576).toFixed(2)} MiB above baseline`,
  );
  return {
    maxEntries,
    sessionsCreated: 2 * maxEntries,
    maxEntriesSeen,
    held: maxEntriesSeen <= maxEntries && maxShortSeen <= maxEntries,
    maxShortSeen,
    cappedBytes,
    entriesAfterSweep,
    sweptMs,
    bytesAfterSweep,
    swept: entriesAfterSweep === 0,
  };
}

/** Bytes per entry of the verified-access-token cache (AccessTokens; bounded at 10 000 entries by default). */
async function tokenCache(n: number) {
  const store = new MemoryStore({ logger: quiet });
  const ctx = services(store);
  const before = await heap();
  for (let i = 0; i < n; i++) {
    // Only the cache keeps the token string, as in a server where it arrived in a header.
    const { token } = await ctx.accessTokens.mint({
      sub: `bench-user-${i}`,
      sid: `sid_${i}`,
      clientId: 'mop_client_benchbenchbenchbenchbenc',
      scope: 'profile',
      upstreamClaims: { sub: `bench-user-${i}`, name: 'Bench User', email: `user${i}@bench.example` },
    });
    await ctx.accessTokens.verify(token);
  }
  alive.push(store, ctx);
  const bytes = (await heap()) - before;
  alive.length = 0;
  await store.close();
  log(`  verified-token cache: ${n} entries, ${(bytes / n).toFixed(0)} B/entry (token string, claims, map slot)`);
  return { entries: n, bytesPerEntry: bytes / n };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      sessions: { type: 'string', default: '10000,100000' },
      bound: { type: 'string', default: '10000' },
      calibrate: { type: 'string', default: '20' },
      cache: { type: 'string', default: '10000' },
    },
  });

  log(`  calibrating: ${values.calibrate} real sign-ins over HTTP`);
  const { perSignIn, template } = await calibrate(Number(values.calibrate));
  const cheap = new RecordingStore();
  const cheapCtx = services(cheap);
  for (let i = 0; i < 10; i++) await createSession(cheapCtx, { store: browserStore(cheapCtx), template });
  const cheapKinds = Object.fromEntries(Object.entries(cheap.kinds()).map(([k, v]) => [k, v / 10]));
  await cheap.close();
  const sameKeys = JSON.stringify(Object.entries(perSignIn).sort()) === JSON.stringify(Object.entries(cheapKinds).sort());
  log(
    `  keys per sign-in: real ${JSON.stringify(perSignIn)}  cheap path ${JSON.stringify(cheapKinds)}  ${sameKeys ? 'same' : 'DIFFERENT'}`,
  );

  const perCount = [];
  const counts = values.sessions.split(',').map(Number);
  for (const n of counts) perCount.push(await perSession(n, template));
  perCount.push(await perSession(counts[0]!, template, 3)); // three linked apps (Grants.linkApp, see createSession)
  const boundResult = await bound(Number(values.bound), template);
  const cache = await tokenCache(Number(values.cache));

  const result = {
    keysPerSignIn: { real: perSignIn, cheapPath: cheapKinds, same: sameKeys },
    perCount,
    bound: boundResult,
    tokenCache: cache,
  };
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
