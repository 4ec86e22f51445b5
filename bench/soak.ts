/**
 * The soak (issue 12): mixed traffic against one proxy for a while, first on
 * RedisStore, then on MemoryStore, with the anonymous `/authorize` flood of
 * finding 2 running alongside. Reports the server's heap and store key counts
 * over time (both must level off), the legitimate requests that failed (must
 * be 0) and the latency of the MCP calls (p50/p99).
 *
 * The server (proxy + stub upstream + MCP route) runs in a child process
 * (`--serve`, with --expose-gc), so its heap is measured without the load
 * generator's. TTLs are shortened so that every kind of record reaches its
 * steady state within minutes: authorizationTtl 60 s, codeTtl 30 s (used-code
 * markers 300 s), accessTokenTtl 120 s, refreshTokenTtl 240 s; the level is
 * about rate × TTL, so production TTLs give proportionally more keys.
 *
 * Usage: `node --import tsx bench/soak.ts [--seconds 600] [--stores redis,memory] [--users 16] [--flood-rps 25]`
 * (bench/run.ts runs it with `--soak-seconds`; `--quick` runs 5 s per store).
 * The last stdout line is `RESULT <json>`.
 */
import { fork } from 'node:child_process';
import http from 'node:http';
import { createHash, randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import express from 'express';
import { createClient } from 'redis';
import { createOAuthProxy, MemoryStore, RedisStore, type Store } from '../lib/index.js';
import { startStubUpstream } from './upstream.js';
import { quantile } from './load.js';

const REDIRECT = 'http://127.0.0.1:9/callback';
const log = (s: string) => process.stderr.write(`${s}\n`);
const b64url = (b: Buffer) => b.toString('base64url');

/** One sample of the server: heap after a full GC, and the store's keys by kind. */
export interface SoakSample {
  t: number;
  heapMiB: number;
  rssMiB: number;
  keys: number;
  byKind: Record<string, number>;
}
/** The result for one store. */
export interface SoakRun {
  store: 'redis' | 'memory';
  seconds: number;
  samples: SoakSample[];
  legit: {
    requests: number;
    failed: number;
    firstErrors: string[];
    signIns: number;
    mcpCalls: number;
    refreshes: number;
    revocations: number;
    upstreamRefreshes: number;
  };
  flood: { requests: number; limited: number; skipped: number; rps: number };
  mcpMs: { p50: number; p99: number };
  /** Last third of the run vs the middle third: growth of the mean, as a fraction. */
  growth: { heap: number; keys: number };
  leveled: boolean;
}

// ───────────────────────────── the server (child) ─────────────────────────────

/** A MemoryStore that remembers the keys written, so samples can count them by kind as on Redis (bench only). */
class TrackingMemoryStore extends MemoryStore {
  readonly #seen = new Set<string>();
  override async set(key: string, value: string, ttlMs: number): Promise<void> {
    this.#seen.add(key);
    return super.set(key, value, ttlMs);
  }
  override async add(key: string, value: string, ttlMs: number): Promise<boolean> {
    this.#seen.add(key);
    return super.add(key, value, ttlMs);
  }
  override async increment(key: string, ttlMs: number): Promise<{ count: number; ttlMs: number }> {
    this.#seen.add(key);
    return super.increment(key, ttlMs);
  }
  /** Live keys by kind (the part after the namespace); forgets keys that are gone. */
  async kinds(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const key of this.#seen) {
      if ((await super.get(key)) === undefined) {
        this.#seen.delete(key);
        continue;
      }
      const kind = key.split(':')[1] ?? '?';
      out[kind] = (out[kind] ?? 0) + 1;
    }
    return out;
  }
}

async function serve(kind: 'redis' | 'memory'): Promise<void> {
  const upstream = await startStubUpstream();
  let redis: ReturnType<typeof createClient> | undefined;
  let store: Store;
  const prefix = `soak-${randomBytes(6).toString('hex')}:`;
  if (kind === 'redis') {
    redis = createClient({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' });
    redis.on('error', () => {});
    await redis.connect();
    store = new RedisStore({ client: redis, prefix });
  } else {
    store = new TrackingMemoryStore();
  }
  const problems: string[] = [];
  const logger = {
    warn: () => {},
    error: (o: unknown, m?: string) => {
      if (problems.length < 20) problems.push(`${m} ${JSON.stringify(o)}`);
    },
  };
  const app = express();
  app.set('trust proxy', 'loopback'); // the driver names each client's address in X-Forwarded-For
  const server = http.createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const oauth = createOAuthProxy({
    issuer: `${base}/oauth`,
    provider: upstream.issuer,
    clientId: 'soak-proxy',
    clientSecret: 'soak-proxy-upstream-secret',
    scopes: ['profile'],
    providerConfig: { id: 'upstream' },
    secret: 'soak-signing-secret-0123456789-abcdefghijk',
    encryptionKey: 'soak-vault-key-0123456789-abcdefghijklmnopq',
    store,
    logger,
    authorizationTtl: 60,
    codeTtl: 30,
    accessTokenTtl: 120,
    refreshTokenTtl: 240,
    refresh: { skewSeconds: 3590 }, // the stub's upstream tokens live 3600 s: each is refreshed upstream once it is 10 s old
  });
  app.use(oauth.wellKnown);
  app.use('/oauth', oauth);
  let upstreamReads = 0;
  app.get('/mcp', oauth.requireSession(), async (req, res) => {
    try {
      await req.upstreamTokens!.getToken();
      upstreamReads += 1;
      res.json({ ok: true });
    } catch (err) {
      res.status(500).json({ error: String(err) });
    }
  });

  const sample = async (t: number): Promise<SoakSample> => {
    (globalThis as { gc?: () => void }).gc?.();
    const m = process.memoryUsage();
    const byKind: Record<string, number> = {};
    let keys = 0;
    if (redis) {
      for await (const batch of redis.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) {
        for (const k of (Array.isArray(batch) ? batch : [batch]) as string[]) {
          const kindOf = k.slice(prefix.length).split(':')[1] ?? '?';
          byKind[kindOf] = (byKind[kindOf] ?? 0) + 1;
          keys += 1;
        }
      }
    } else {
      const mem = store as TrackingMemoryStore;
      mem.sweep(); // what the periodic sweep does anyway, so that expired entries are not counted
      Object.assign(byKind, await mem.kinds());
      keys = mem.size;
    }
    return { t, heapMiB: m.heapUsed / 2 ** 20, rssMiB: m.rss / 2 ** 20, keys, byKind };
  };
  process.on('message', (msg: { type: string; t?: number }) => {
    if (msg.type === 'sample') void sample(msg.t ?? 0).then((s) => process.send?.({ type: 'sample', sample: s }));
    if (msg.type === 'stop') {
      void (async () => {
        await oauth.close();
        await store.close?.();
        if (redis) {
          for await (const batch of redis.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) {
            const ks = (Array.isArray(batch) ? batch : [batch]) as string[];
            if (ks.length) await redis.del(ks);
          }
          await redis.close();
        }
        server.closeAllConnections();
        server.close();
        await upstream.close();
        process.send?.({ type: 'stopped', problems, upstreamRefreshes: upstream.counts['/token'] ?? 0, upstreamReads }, () =>
          process.exit(0),
        );
      })();
    }
  });
  process.send?.({ type: 'ready', base });
}

// ───────────────────────────── the driver (parent) ─────────────────────────────

/** A cookie jar for one browser (the proxy sets one cookie, on the issuer's path). */
class Browser {
  cookie = '';
  keep(res: Response): void {
    const set = res.headers
      .getSetCookie()
      .map((c) => c.split(';', 1)[0]!)
      .filter((c) => c.startsWith('mcp_oauth_proxy='));
    if (set.length) this.cookie = set[0]!;
  }
}

interface Counters {
  requests: number;
  failed: number;
  firstErrors: string[];
  signIns: number;
  mcpCalls: number;
  refreshes: number;
  revocations: number;
}

async function drive(
  base: string,
  seconds: number,
  users: number,
  floodRps: number,
  child: ReturnType<typeof fork>,
  kind: 'redis' | 'memory',
): Promise<Omit<SoakRun, 'legit'> & { legit: Counters }> {
  const issuer = `${base}/oauth`;
  const c: Counters = { requests: 0, failed: 0, firstErrors: [], signIns: 0, mcpCalls: 0, refreshes: 0, revocations: 0 };
  const flood = { requests: 0, limited: 0, skipped: 0 };
  const mcpMs: number[] = [];
  const deadline = Date.now() + seconds * 1000;
  const live = () => Date.now() < deadline;
  const fail = (what: string) => {
    c.failed += 1;
    if (c.firstErrors.length < 5) c.firstErrors.push(what);
  };
  const step = async (what: string, expect: number[], fn: () => Promise<Response>): Promise<Response | undefined> => {
    c.requests += 1;
    try {
      const res = await fn();
      if (!expect.includes(res.status)) {
        fail(`${what}: HTTP ${res.status} ${(await res.text()).slice(0, 160)}`);
        return undefined;
      }
      return res;
    } catch (err) {
      fail(`${what}: ${err instanceof Error ? err.message : String(err)}`);
      return undefined;
    }
  };

  const reg = await fetch(`${issuer}/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ client_name: 'soak', redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none' }),
  });
  const clientId = ((await reg.json()) as { client_id: string }).client_id;

  /** A whole sign-in as a browser: authorize, consent (unless remembered), upstream, callback, token. */
  const signIn = async (browser: Browser, xff: string): Promise<{ access_token: string; refresh_token: string } | undefined> => {
    const verifier = b64url(randomBytes(32));
    const challenge = b64url(createHash('sha256').update(verifier).digest());
    const q = new URLSearchParams({
      response_type: 'code',
      client_id: clientId,
      redirect_uri: REDIRECT,
      code_challenge: challenge,
      code_challenge_method: 'S256',
      state: 's',
    });
    const h = (extra: Record<string, string> = {}) => ({
      'x-forwarded-for': xff,
      ...(browser.cookie ? { cookie: browser.cookie } : {}),
      ...extra,
    });
    const r1 = await step('authorize', [200, 303], () => fetch(`${issuer}/authorize?${q}`, { redirect: 'manual', headers: h() }));
    if (!r1) return undefined;
    browser.keep(r1);
    let upstreamUrl = r1.headers.get('location');
    if (r1.status === 200) {
      const html = await r1.text();
      const txn = /name="txn" value="([^"]+)"/.exec(html)?.[1];
      const csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1];
      if (!txn || !csrf) {
        fail('consent page without txn/csrf');
        return undefined;
      }
      const r2 = await step('consent', [303], () =>
        fetch(`${issuer}/consent`, {
          method: 'POST',
          redirect: 'manual',
          headers: h({ 'content-type': 'application/x-www-form-urlencoded', origin: base }),
          body: new URLSearchParams({ txn, csrf, decision: 'approve' }).toString(),
        }),
      );
      if (!r2) return undefined;
      browser.keep(r2);
      upstreamUrl = r2.headers.get('location');
    } else await r1.arrayBuffer();
    const r3 = await step('upstream', [302], () => fetch(upstreamUrl!, { redirect: 'manual' }));
    if (!r3) return undefined;
    await r3.arrayBuffer();
    const r4 = await step('callback', [302], () => fetch(r3.headers.get('location')!, { redirect: 'manual', headers: h() }));
    if (!r4) return undefined;
    browser.keep(r4);
    await r4.arrayBuffer();
    const code = new URL(r4.headers.get('location')!).searchParams.get('code');
    if (!code) {
      fail('callback without code');
      return undefined;
    }
    const r5 = await step('token', [200], () =>
      fetch(`${issuer}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          code,
          code_verifier: verifier,
          client_id: clientId,
          redirect_uri: REDIRECT,
        }).toString(),
      }),
    );
    if (!r5) return undefined;
    c.signIns += 1;
    return (await r5.json()) as { access_token: string; refresh_token: string };
  };

  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const user = async (i: number) => {
    const browser = new Browser();
    const xff = `10.0.${i >> 8}.${i & 255}`;
    while (live()) {
      let tokens = await signIn(browser, xff);
      if (!tokens) {
        await sleep(500);
        continue;
      }
      const sessionEnds = Date.now() + 30_000 + Math.random() * 30_000;
      let nextRefresh = Date.now() + 8_000;
      do {
        // at least one MCP call per session, also in a few-second run
        const t0 = performance.now();
        const r = await step('mcp', [200], () => fetch(`${base}/mcp`, { headers: { authorization: `Bearer ${tokens!.access_token}` } }));
        if (r) {
          await r.arrayBuffer();
          mcpMs.push(performance.now() - t0);
          c.mcpCalls += 1;
        }
        if (Date.now() >= nextRefresh) {
          nextRefresh = Date.now() + 8_000;
          const rr = await step('refresh', [200], () =>
            fetch(`${issuer}/token`, {
              method: 'POST',
              headers: { 'content-type': 'application/x-www-form-urlencoded' },
              body: new URLSearchParams({
                grant_type: 'refresh_token',
                refresh_token: tokens!.refresh_token,
                client_id: clientId,
              }).toString(),
            }),
          );
          if (rr) {
            tokens = (await rr.json()) as typeof tokens;
            c.refreshes += 1;
          }
        }
        await sleep(40);
      } while (live() && Date.now() < sessionEnds);
      const rv = await step('revoke', [200], () =>
        fetch(`${issuer}/revoke`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ token: tokens!.refresh_token, client_id: clientId }).toString(),
        }),
      );
      if (rv) {
        await rv.arrayBuffer();
        c.revocations += 1;
        const after = await step('mcp after revoke', [401], () =>
          fetch(`${base}/mcp`, { headers: { authorization: `Bearer ${tokens!.access_token}` } }),
        );
        if (after) await after.arrayBuffer();
      }
    }
  };

  /**
   * The finding-2 flood: anonymous GET /authorize with fresh PKCE and no cookie, at a fixed rate (open loop, at
   * most 32 in flight), so that the records it leaves depend on the rate and the TTLs, not on the machine's load;
   * half from one address, half from a pool of 1024.
   */
  const flooder = async () => {
    let n = 0;
    let inFlight = 0;
    const one = async (xff: string) => {
      inFlight += 1;
      const q = new URLSearchParams({
        response_type: 'code',
        client_id: clientId,
        redirect_uri: REDIRECT,
        code_challenge: b64url(randomBytes(32)),
        code_challenge_method: 'S256',
      });
      try {
        const r = await fetch(`${issuer}/authorize?${q}`, { redirect: 'manual', headers: { 'x-forwarded-for': xff } });
        await r.arrayBuffer();
        flood.requests += 1;
        if (r.status === 429) flood.limited += 1;
      } catch {
        /* the flood's own failures do not matter */
      } finally {
        inFlight -= 1;
      }
    };
    const pending: Array<Promise<void>> = [];
    for (let next = Date.now(); live(); next += 1000 / floodRps) {
      await sleep(Math.max(0, next - Date.now()));
      if (inFlight >= 32) {
        flood.skipped += 1;
        continue;
      }
      n += 1;
      pending.push(one(n % 2 === 0 ? '203.0.113.7' : `198.51.${100 + ((n >> 8) & 3)}.${n & 255}`));
      if (pending.length > 256) pending.splice(0, 128);
    }
    await Promise.all(pending);
  };

  const samples: SoakSample[] = [];
  const every = Math.max(1, Math.min(15, seconds / 20)) * 1000;
  const started = Date.now();
  const takeSample = () =>
    new Promise<void>((r) => {
      child.once('message', (m: { type: string; sample: SoakSample }) => {
        samples.push(m.sample);
        r();
      });
      child.send({ type: 'sample', t: Math.round((Date.now() - started) / 1000) });
    });
  await takeSample();
  const sampler = (async () => {
    while (live()) {
      await sleep(Math.min(every, Math.max(0, deadline - Date.now())));
      if (live()) await takeSample();
    }
  })();
  await Promise.all([...Array.from({ length: users }, (_, i) => user(i + 1)), flooder(), sampler]);
  await takeSample();

  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const third = Math.floor(samples.length / 3);
  const mid = samples.slice(third, 2 * third);
  const last = samples.slice(2 * third);
  const grow = (f: (s: SoakSample) => number) => (mid.length && last.length ? mean(last.map(f)) / Math.max(1e-9, mean(mid.map(f))) - 1 : 0);
  const growth = { heap: grow((s) => s.heapMiB), keys: grow((s) => s.keys) };
  log(
    `  ${kind}: ${c.signIns} sign-ins, ${c.mcpCalls} MCP calls, ${c.refreshes} refreshes, ${c.revocations} revocations, ${flood.requests} flood requests (${flood.limited} limited, ${flood.skipped} not sent: 32 in flight), ${c.failed} failed`,
  );
  return {
    store: kind,
    seconds,
    samples,
    legit: c,
    flood: { ...flood, rps: floodRps },
    mcpMs: { p50: quantile(mcpMs, 0.5), p99: quantile(mcpMs, 0.99) },
    growth,
    leveled: growth.heap <= 0.15 && growth.keys <= 0.15,
  };
}

/** The report rows of a soak: p99 of the MCP calls per store; fails on any failed legitimate request or growth. */
export function soakRows(runs: SoakRun[]): Array<{ case: string; value: number; unit: 'ms'; target: string; pass: boolean; note: string }> {
  return runs.map((r) => {
    const judged = r.seconds >= 300; // shorter runs end before the TTLs have turned over once
    const last = r.samples[r.samples.length - 1];
    return {
      case: `soak: p99 of MCP calls, ${r.seconds} s mixed traffic + authorize flood — ${r.store === 'redis' ? 'RedisStore' : 'MemoryStore'}`,
      value: r.mcpMs.p99,
      unit: 'ms',
      target: '0 failed, levels off',
      pass: r.legit.failed === 0 && (!judged || r.leveled),
      note: `${r.legit.failed} failed of ${r.legit.requests} legitimate requests; p50 ${r.mcpMs.p50.toFixed(1)} ms; heap ${last?.heapMiB.toFixed(1)} MiB (${(r.growth.heap * 100).toFixed(0)} %), ${last?.keys} keys (${(r.growth.keys * 100).toFixed(0)} %) last third vs middle third${judged ? '' : ' (too short to judge levelling)'}`,
    };
  });
}

/** Runs the soak on each store in turn, each against a fresh server process. */
export async function runSoak(o: {
  seconds: number;
  stores: Array<'redis' | 'memory'>;
  users: number;
  floodRps?: number;
}): Promise<SoakRun[]> {
  const runs: SoakRun[] = [];
  for (const kind of o.stores) {
    log(`soak: ${kind === 'redis' ? 'RedisStore' : 'MemoryStore'}, ${o.seconds} s, ${o.users} users + authorize flood`);
    const child = fork(fileURLToPath(import.meta.url), ['--serve', kind], {
      execArgv: ['--expose-gc', '--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const ready = await new Promise<{ base: string }>((res, rej) => {
      child.once('message', (m: { base: string }) => res(m));
      child.once('exit', (code) => rej(new Error(`soak server exited (${code})`)));
    });
    const run = await drive(ready.base, o.seconds, o.users, o.floodRps ?? 25, child, kind);
    const stopped = await new Promise<{ problems: string[]; upstreamRefreshes: number }>((res) => {
      child.once('message', (m: { problems: string[]; upstreamRefreshes: number }) => res(m));
      child.send({ type: 'stop' });
    });
    if (stopped.problems.length) {
      run.legit.failed += stopped.problems.length;
      run.legit.firstErrors.push(...stopped.problems.slice(0, 3).map((p) => `server logged an error: ${p}`));
    }
    runs.push({ ...run, legit: { ...run.legit, upstreamRefreshes: Math.max(0, stopped.upstreamRefreshes - run.legit.signIns) } });
  }
  return runs;
}

const isMain = process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1];
if (isMain) {
  const { values: a } = parseArgs({
    options: {
      serve: { type: 'string' },
      seconds: { type: 'string' },
      stores: { type: 'string' },
      users: { type: 'string' },
      'flood-rps': { type: 'string' },
      quick: { type: 'boolean', default: false },
    },
  });
  if (a.serve) {
    serve(a.serve as 'redis' | 'memory').catch((err: unknown) => {
      console.error('[soak server]', err);
      process.exit(1);
    });
  } else {
    runSoak({
      seconds: Number(a.seconds ?? (a.quick ? 5 : 600)),
      stores: (a.stores ?? 'redis,memory').split(',') as Array<'redis' | 'memory'>,
      users: Number(a.users ?? (a.quick ? 4 : 16)),
      floodRps: Number(a['flood-rps'] ?? 25),
    })
      .then((runs) => {
        process.stdout.write(`RESULT ${JSON.stringify(runs)}\n`);
        process.exit(0);
      })
      .catch((err: unknown) => {
        console.error(err);
        process.exit(1);
      });
  }
}
