/**
 * `npm run bench`: what the proxy costs per MCP request, per sign-in, per refresh and per
 * stored session, measured on loopback against real servers this script starts.
 * Throughput is reported as ratios to the unprotected route measured in the same
 * run (alternating runs, median of rounds, interquartile range), never as bare absolute numbers.
 * See bench/README.md for what each case does and how to read the results.
 *
 * Options: --duration s (per run, 1) --rounds n (16) --connections n (50)
 *   --signin-seconds s (3) --signin-workers n (8) --signin-rounds n (5) --signin-steps n (150)
 *   --sessions 10000,100000 --bound n (10000) --growth 1000,100000,1000000 (live sessions in a dedicated Redis)
 *   --only ids (comma list of case ids, plus `signin`, `refresh`, `growth`, `memory`, `micro`, `soak`) --soak-seconds s (600 per store; bench/soak.ts)
 *   --compare path (print the change against an earlier results.json)
 *   --quick (tiny run for CI: 1 s, 1 round, 4 connections, 100 sessions) --out path (bench/results.json)
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { alternate, iqr, measure, median, type Target } from './load.js';
import { pinLoadGenerator, pinningLine, root, startServer } from './harness.js';
import { runMicro, type MicroResult } from './micro.js';
import { machine, machineLine, table, type Row } from './report.js';
import { registerClient, runSignIns, signIn, signInSteps, STEPS, type SignInRun } from './signin.js';
import { startStubUpstream } from './upstream.js';
import { compare, loadResults } from './compare.js';
import { runSoak, soakRows, type SoakRun } from './soak.js';
import { fastmcpSignIn } from './peer.js';
import { refreshBurst, runGets, runRefreshGrants, type LoopRun } from './refresh.js';

const log = (s: string) => process.stderr.write(`${s}\n`);

const { values: a } = parseArgs({
  options: {
    duration: { type: 'string' },
    rounds: { type: 'string' },
    connections: { type: 'string' },
    'signin-seconds': { type: 'string' },
    'signin-workers': { type: 'string' },
    'signin-rounds': { type: 'string' },
    'signin-steps': { type: 'string' },
    sessions: { type: 'string' },
    bound: { type: 'string' },
    growth: { type: 'string' },
    only: { type: 'string' },
    quick: { type: 'boolean', default: false },
    out: { type: 'string' },
    compare: { type: 'string' },
    'soak-seconds': { type: 'string' },
  },
});
const q = a.quick;
const cfg = {
  duration: Number(a.duration ?? 1),
  rounds: Number(a.rounds ?? (q ? 1 : 16)),
  connections: Number(a.connections ?? (q ? 4 : 50)),
  warmup: !q,
  signinSeconds: Number(a['signin-seconds'] ?? (q ? 0.5 : 3)),
  signinWorkers: Number(a['signin-workers'] ?? (q ? 2 : 8)),
  signinRounds: Number(a['signin-rounds'] ?? (q ? 1 : 5)),
  signinSteps: Number(a['signin-steps'] ?? (q ? 2 : 150)),
  sessions: a.sessions ?? (q ? '100' : '10000,100000'),
  bound: a.bound ?? (q ? '100' : '10000'),
  growth: a.growth ?? (q ? '100,300' : '1000,100000,1000000'),
  cache: q ? '100' : '10000',
  soakSeconds: Number(a['soak-seconds'] ?? (q ? 5 : 600)), // per store (bench/soak.ts)
  out: resolve(a.out ?? join(root, 'bench', 'results.json')),
};
const only = a.only ? new Set(a.only.split(',')) : undefined;
const wanted = (id: string) => !only || only.has(id);
const earlier = a.compare ? loadResults(resolve(a.compare)) : undefined; // fail before a long run, not after it

interface Case {
  id: string;
  label: string;
  path: string;
  store: 'memory' | 'redis' | 'local' | 'sdk' | 'fastmcp';
  min?: number;
}
const CASES: Case[] = [
  { id: 'session-memory', label: 'requireSession() — MemoryStore', path: '/memory/mcp', store: 'memory', min: 0.9 },
  { id: 'session-redis', label: 'requireSession() — RedisStore', path: '/redis/mcp', store: 'redis', min: 0.9 },
  {
    id: 'session-app-local',
    label: 'requireSession({ app }) — local mode, 3 linked apps, MemoryStore',
    path: '/local/mcp/a3',
    store: 'local',
    min: 0.9,
  },
  { id: 'vault-memory', label: '+ tryGetToken() vault read — MemoryStore', path: '/memory/mcp-vault', store: 'memory', min: 0.85 },
  { id: 'vault-redis', label: '+ tryGetToken() vault read — RedisStore', path: '/redis/mcp-vault', store: 'redis', min: 0.75 },
  { id: 'sdk-bearer', label: 'SDK requireBearerAuth + jose HS256 (peer baseline)', path: '/sdk/mcp', store: 'sdk' },
  { id: 'fastmcp', label: 'fastmcp OAuthProxy authenticate(), its per-request check (peer)', path: '/fastmcp/mcp', store: 'fastmcp' },
];
const storeName = (s: string) => (s === 'memory' ? 'MemoryStore' : 'RedisStore');

function runMemory(): Promise<Record<string, unknown>> {
  return runChild(
    [
      '--expose-gc',
      '--max-old-space-size=4096',
      '--import',
      'tsx',
      join(root, 'bench', 'memory.ts'),
      '--sessions',
      cfg.sessions,
      '--bound',
      cfg.bound,
      '--cache',
      cfg.cache,
      '--calibrate',
      q ? '3' : '20',
    ],
    'memory',
  );
}

function runGrowth(): Promise<Record<string, unknown>> {
  return runChild(
    [
      '--max-old-space-size=4096',
      '--import',
      'tsx',
      join(root, 'bench', 'growth.ts'),
      '--sizes',
      cfg.growth,
      '--rounds',
      q ? '1' : '6',
      '--sample',
      q ? '3' : '200',
      ...(q ? ['--connections', '4'] : []),
    ],
    'growth',
  );
}

function hasRedisServer(): boolean {
  return (process.env.PATH ?? '').split(':').some((d) => d && existsSync(join(d, 'redis-server')));
}

function runChild(args: string[], what: string): Promise<Record<string, unknown>> {
  const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  return new Promise((res, rej) =>
    child.on('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (code !== 0 || !line) rej(new Error(`${what} bench failed (exit ${code})`));
      else res(JSON.parse(line.slice(7)) as Record<string, unknown>);
    }),
  );
}

async function main(): Promise<void> {
  pinLoadGenerator();
  const m = machine();
  m.pinning = pinningLine();
  log(`mcp-oauth-proxy bench — ${machineLine(m)}`);
  log(`config: ${cfg.duration} s per run, ${cfg.rounds} rounds, ${cfg.connections} connections`);
  const rows: Row[] = [];
  // The stub upstream runs here, with the load generator, so the server's CPU time is the proxy's alone.
  const upstream = await startStubUpstream();
  const expiring = await startStubUpstream({ expiresIn: 1 }); // every use of its tokens is a refresh
  const once = await startStubUpstream({ expiresIn: 1, refreshedExpiresIn: 3600 }); // one refresh, then an hour
  const server = await startServer({
    upstream: upstream.issuer,
    env: { BENCH_UPSTREAM_EXPIRING: expiring.issuer, BENCH_UPSTREAM_ONCE: once.issuer },
  });
  const { ready, cpu } = server;
  const throughput: Record<string, unknown> = {};
  const signIns: Record<string, SignInRun[]> = {};
  let steps: Record<string, unknown> | undefined;
  let failed: unknown;
  try {
    if (ready.redisError) log(`Redis unavailable (${ready.redisError}): Redis cases are skipped`);
    const tokens: Record<string, string> = {};
    const clients: Record<string, string> = {};
    for (const [store, issuer] of Object.entries(ready.issuers)) {
      clients[store] = await registerClient(issuer);
      tokens[store] = (await signIn(issuer, clients[store]!)).access_token; // a real sign-in through the stub upstream
    }
    tokens.sdk = tokens.memory!;
    // Local mode: one sign-in links the three apps (three upstream round trips, chained).
    tokens.local = (await signIn(ready.localIssuer, await registerClient(ready.localIssuer))).access_token;
    if (ready.fastmcpError) log(`fastmcp could not start (${ready.fastmcpError}): its rows are skipped`);
    if (ready.fastmcp) tokens.fastmcp = (await fastmcpSignIn(ready.fastmcp)).access_token;
    const cases = CASES.filter((c) => wanted(c.id) && tokens[c.store]);
    // The unprotected route gets the very same request, bearer token included (an MCP client always sends it):
    // the two runs then differ only by the middleware, not by 540 more header bytes to parse.
    const plain: Target = { id: 'unprotected', url: `${ready.base}/plain`, token: tokens.memory! };
    const targets = cases.map((c): Target => ({ id: c.id, url: ready.base + c.path, token: tokens[c.store]! }));
    for (const t of [plain, ...targets]) {
      const res = await fetch(t.url, { headers: t.token ? { authorization: `Bearer ${t.token}` } : {} });
      if (res.status !== 200) throw new Error(`${t.id}: ${t.url} answered ${res.status} ${await res.text()}`);
      await res.arrayBuffer();
    }

    if (targets.length) {
      if (cfg.warmup) {
        log('warm-up');
        for (const t of [plain, ...targets]) await measure(t, { connections: cfg.connections, seconds: 2 });
      }
      log(`throughput: unprotected vs each case, alternately (${cfg.rounds} rounds)`);
      const r = await alternate(plain, targets, { connections: cfg.connections, seconds: cfg.duration, rounds: cfg.rounds, cpu, log });
      const sdk = r.cases.find((c) => c.id === 'sdk-bearer');
      const cpuIqr = (c: typeof r.baseline) => iqr(c.samples.map((s) => s.cpuUsPerReq).filter(Number.isFinite));
      rows.push({
        id: 'unprotected',
        case: 'unprotected Express route',
        value: r.baseline.medianRps,
        spread: iqr(r.baseline.samples.map((s) => s.rps)),
        unit: 'req/s',
        ratio: 1,
        cpuUs: r.baseline.medianCpuUsPerReq,
        cpuUsIqr: cpuIqr(r.baseline),
        cpuRatio: 1,
        target: '',
      });
      for (const c of r.cases) {
        const def = CASES.find((d) => d.id === c.id)!;
        const vsSdk = sdk && c !== sdk && c.id !== 'fastmcp' ? c.medianRatio / sdk.medianRatio : undefined;
        const valid = c.failures === 0;
        const pass = def.min === undefined ? undefined : valid && c.medianRatio >= def.min && (vsSdk === undefined || vsSdk >= 1);
        rows.push({
          id: c.id,
          case: def.label,
          value: c.medianRps,
          spread: iqr(c.samples.map((s) => s.rps)),
          unit: 'req/s',
          ratio: c.medianRatio,
          ratioIqr: c.ratioIqr,
          cpuUs: c.medianCpuUsPerReq,
          cpuUsIqr: cpuIqr(c),
          cpuRatio: c.medianCpuRatio,
          cpuRatioIqr: c.cpuRatioIqr,
          ...(vsSdk !== undefined ? { vsSdk } : {}),
          target: def.min === undefined ? (c.id === 'fastmcp' ? 'peer' : 'baseline') : `≥ ${def.min.toFixed(2)}${sdk ? ', ≥ SDK' : ''}`,
          ...(pass !== undefined ? { pass } : {}),
          ...(valid ? {} : { note: `${c.failures} failed requests: INVALID` }),
        });
      }
      Object.assign(throughput, { baseline: r.baseline, cases: r.cases });
    }

    if (wanted('signin')) {
      log(
        `sign-ins: ${cfg.signinWorkers} concurrent browsers, register → authorize → consent → upstream stub → callback → token, ${cfg.signinSeconds} s per run, ${cfg.signinRounds} rounds`,
      );
      if (!q)
        for (const issuer of Object.values(ready.issuers))
          await runSignIns({ issuer, register: true, workers: cfg.signinWorkers, durationMs: 1500 }); // warm-up
      for (let round = 0; round < cfg.signinRounds; round++) {
        for (const [store, issuer] of Object.entries(ready.issuers)) {
          const run = await runSignIns({ issuer, register: true, workers: cfg.signinWorkers, durationMs: cfg.signinSeconds * 1000, cpu });
          (signIns[store] ??= []).push(run);
          log(
            `  ${store}: ${run.perSecond.toFixed(1)} sign-ins/s, server CPU ${run.serverCpuMsPerSignIn?.toFixed(2)} ms/sign-in (${run.completed} completed, ${run.failed} failed${run.firstError ? `: ${run.firstError}` : ''})`,
          );
        }
      }
      if (ready.fastmcp) {
        const base = ready.fastmcp;
        if (!q) await runSignIns({ issuer: base, workers: cfg.signinWorkers, durationMs: 1500, flow: () => fastmcpSignIn(base) }); // warm-up
        for (let round = 0; round < cfg.signinRounds; round++) {
          const run = await runSignIns({
            issuer: base,
            workers: cfg.signinWorkers,
            durationMs: cfg.signinSeconds * 1000,
            cpu,
            flow: () => fastmcpSignIn(base),
          });
          (signIns.fastmcp ??= []).push(run);
          log(
            `  fastmcp: ${run.perSecond.toFixed(1)} sign-ins/s, server CPU ${run.serverCpuMsPerSignIn?.toFixed(2)} ms/sign-in (${run.completed} completed, ${run.failed} failed${run.firstError ? `: ${run.firstError}` : ''})`,
          );
        }
      }
      const peerCpu = signIns.fastmcp ? median(signIns.fastmcp.map((x) => (x.serverCpuMsPerSignIn ?? NaN) * 1000)) : undefined;
      for (const [store, runs] of Object.entries(signIns)) {
        const bad = runs.reduce((n, x) => n + x.failed, 0);
        const cpuUs = runs.map((x) => (x.serverCpuMsPerSignIn ?? NaN) * 1000);
        const perCore = 1e6 / median(cpuUs);
        const peer = store === 'fastmcp';
        const vsPeer = !peer && peerCpu ? `; fastmcp uses ${(peerCpu / median(cpuUs)).toFixed(2)}× this CPU per sign-in` : '';
        rows.push({
          id: `signin-${store}`,
          case: `complete sign-ins (register → authorize → consent → callback → token) — ${peer ? 'fastmcp OAuthProxy (peer)' : storeName(store)}`,
          value: median(runs.map((x) => x.perSecond)),
          spread: iqr(runs.map((x) => x.perSecond)),
          unit: 'sign-ins/s',
          cpuUs: median(cpuUs),
          cpuUsIqr: iqr(cpuUs),
          target: peer ? 'peer' : '≤ 2.5 ms CPU',
          ...(peer ? (bad ? { pass: false } : {}) : { pass: !bad && median(cpuUs) <= 2500 }),
          note: `${Math.round(perCore)} sign-ins/s per core of server CPU${vsPeer}${bad ? `, ${bad} FAILED` : ''}`,
        });
      }
      log(`sign-in steps: ${cfg.signinSteps} sequential full sign-ins per store, server CPU read around each step`);
      steps = {};
      for (const [store, issuer] of Object.entries(ready.issuers)) {
        const s = await signInSteps({ issuer, count: cfg.signinSteps, cpu });
        steps[store] = s;
        log(
          `  ${store}: ${STEPS.filter((k) => s.steps[k] !== undefined)
            .map((k) => `${k} ${(s.steps[k]! / 1000).toFixed(2)}`)
            .join(', ')} ms; whole sign-in ${(s.total / 1000).toFixed(2)} ms (CPU read ${s.probeUs} µs, subtracted)`,
        );
        for (const k of STEPS) {
          if (k === 'upstream' || s.steps[k] === undefined) continue;
          rows.push({
            id: `signin-step-${k}-${store}`,
            case: `  sign-in step: ${k} — ${storeName(store)}`,
            value: s.steps[k]!,
            unit: 'µs',
            target: 'report',
            note: 'server CPU, sequential, median',
          });
        }
      }
    }

    if (wanted('refresh')) {
      const workers = cfg.signinWorkers;
      const secs = q ? 0.5 : 2;
      log(
        `refresh: the refresh_token grant on ${workers} rotating chains, and tryGetToken() refreshing upstream on every request (${workers} sessions), ${secs} s per run, ${cfg.signinRounds} rounds`,
      );
      const chains: Record<string, string[]> = {};
      const expTokens: Record<string, string[]> = {};
      const expClients: Record<string, string> = {};
      for (const [store, issuer] of Object.entries(ready.issuers)) {
        chains[store] = [];
        for (let i = 0; i < workers; i++) chains[store].push((await signIn(issuer, clients[store]!)).refresh_token);
      }
      for (const [store, issuer] of Object.entries(ready.refreshIssuers)) {
        expClients[store] = await registerClient(issuer);
        expTokens[store] = [];
        for (let i = 0; i < workers; i++) expTokens[store].push((await signIn(issuer, expClients[store]!)).access_token);
      }
      const grants: Record<string, LoopRun[]> = {};
      const upstreamRuns: Record<string, LoopRun[]> = {};
      const upstreamCalls = () => expiring.counts['/token refresh_token'] ?? 0;
      const calls: Record<string, number> = {};
      for (let round = 0; round < cfg.signinRounds; round++) {
        for (const [store, issuer] of Object.entries(ready.issuers)) {
          const g = await runRefreshGrants({ issuer, clientId: clients[store]!, chains: chains[store]!, seconds: secs, cpu });
          (grants[store] ??= []).push(g);
          const before = upstreamCalls();
          const u = await runGets({ url: `${ready.base}/${store}-exp/mcp-vault`, tokens: expTokens[store]!, seconds: secs, cpu });
          calls[store] = (calls[store] ?? 0) + upstreamCalls() - before;
          (upstreamRuns[store] ??= []).push(u);
          log(
            `  ${store}: refresh grant ${g.perSecond.toFixed(0)}/s, ${g.cpuUs.toFixed(0)} µs CPU each${g.failed ? ` (${g.failed} failed: ${g.firstError})` : ''}; upstream refresh ${u.perSecond.toFixed(0)}/s, ${u.cpuUs.toFixed(0)} µs CPU each${u.failed ? ` (${u.failed} failed: ${u.firstError})` : ''}`,
          );
        }
      }
      const loopRow = (id: string, label: string, runs: LoopRun[], unit: Row['unit'], extra = ''): Row => {
        const cpuUs = runs.map((x) => x.cpuUs);
        const bad = runs.reduce((n, x) => n + x.failed, 0);
        return {
          id,
          case: label,
          value: median(runs.map((x) => x.perSecond)),
          spread: iqr(runs.map((x) => x.perSecond)),
          unit,
          cpuUs: median(cpuUs),
          cpuUsIqr: iqr(cpuUs),
          target: 'report',
          note: `${Math.round(1e6 / median(cpuUs))}/s per core of server CPU${extra}${bad ? `, ${bad} FAILED: ${runs.find((x) => x.firstError)?.firstError}` : ''}`,
          ...(bad ? { pass: false } : {}),
        };
      };
      for (const store of Object.keys(grants))
        rows.push(loopRow(`refresh-grant-${store}`, `refresh_token grant (rotation) — ${storeName(store)}`, grants[store]!, 'refreshes/s'));
      for (const store of Object.keys(upstreamRuns)) {
        const done = upstreamRuns[store]!.reduce((n, x) => n + x.completed, 0);
        rows.push(
          loopRow(
            `upstream-refresh-${store}`,
            `tryGetToken() refreshing upstream on every request (lock, upstream /token, vault write) — ${storeName(store)}`,
            upstreamRuns[store]!,
            'refreshes/s',
            `; ${calls[store]} upstream refreshes for ${done} requests`,
          ),
        );
      }
      // Single flight and the store lock: concurrent requests on one session whose token needs a refresh.
      const burst = q ? 6 : 40;
      for (const [store, issuer] of Object.entries(ready.onceIssuers)) {
        const token = (await signIn(issuer, await registerClient(issuer))).access_token;
        const urls =
          store === 'redis'
            ? [`${ready.base}/redis-once/mcp-vault`, `${ready.base}/redis-once-b/mcp-vault`]
            : [`${ready.base}/memory-once/mcp-vault`];
        const b = await refreshBurst({ urls, token, n: burst, refreshes: () => once.counts['/token refresh_token'] ?? 0 });
        log(
          `  ${store}: ${b.requests} concurrent requests${urls.length > 1 ? ' over two proxy instances' : ''} → ${b.upstreamRefreshes} upstream refresh(es), ${b.ok} answered 200`,
        );
        rows.push({
          id: `refresh-burst-${store}`,
          case: `${burst} concurrent requests on one session needing a refresh${urls.length > 1 ? ', over two proxy instances on one Redis (store lock)' : ' (single flight)'} — ${storeName(store)}`,
          value: b.upstreamRefreshes,
          unit: 'upstream refreshes',
          target: '1',
          pass: b.upstreamRefreshes === 1 && b.ok === b.requests,
          note: `${b.ok}/${b.requests} answered 200`,
        });
      }
    }
  } catch (err) {
    failed = err;
  }
  const serverInfo = await server.shutdown();
  await upstream.close();
  await expiring.close();
  await once.close();
  serverInfo.upstreamRequests = { main: upstream.counts, expiring: expiring.counts, once: once.counts };
  if (failed) throw failed;

  let memory: Record<string, unknown> | undefined;
  if (wanted('memory')) {
    log(`memory: MemoryStore with ${cfg.sessions} live sessions (node --expose-gc)`);
    memory = await runMemory();
    const mem = memory as {
      keysPerSignIn: { same: boolean };
      perCount: Array<{ sessions: number; apps: number; entries: number; bytesPerSession: number; bytes: number }>;
      bound: {
        maxEntries: number;
        sessionsCreated: number;
        maxEntriesSeen: number;
        held: boolean;
        entriesAfterSweep: number;
        swept: boolean;
        bytesAfterSweep: number;
      };
      tokenCache: { entries: number; bytesPerEntry: number };
    };
    for (const p of mem.perCount) {
      const apps = p.apps > 1 ? `, ${p.apps} linked apps` : '';
      rows.push({
        id: `memory-${p.sessions}${p.apps > 1 ? `-apps${p.apps}` : ''}`,
        case: `memory: ${p.sessions.toLocaleString('en-US')} live sessions in MemoryStore${apps}`,
        value: p.bytesPerSession,
        unit: 'B/session',
        target: 'report',
        note: `${(p.bytes / 2 ** 20).toFixed(1)} MiB, ${p.entries / p.sessions} entries/session`,
      });
    }
    const b = mem.bound;
    rows.push({
      id: 'memory-bound',
      case: `bound: maxEntries ${b.maxEntries}, ${b.sessionsCreated} sessions created`,
      value: b.maxEntriesSeen,
      unit: 'entries',
      target: `≤ ${b.maxEntries}`,
      pass: b.held,
      note: 'most entries held',
    });
    rows.push({
      id: 'memory-expiry',
      case: 'expiry: entries left after every TTL passed + periodic sweep',
      value: b.entriesAfterSweep,
      unit: 'entries',
      target: '0',
      pass: b.swept,
      note: `heap ${(b.bytesAfterSweep / 2 ** 20).toFixed(2)} MiB above baseline`,
    });
    rows.push({
      id: 'memory-token-cache',
      case: `verified-token cache (bounded at 10,000 entries)`,
      value: mem.tokenCache.bytesPerEntry,
      unit: 'B/entry',
      target: 'report',
    });
    if (!mem.keysPerSignIn.same)
      rows.push({
        id: 'memory-keys',
        case: 'memory: cheap path leaves the same keys as a real sign-in',
        value: 0,
        unit: 'entries',
        target: 'same',
        pass: false,
      });
  }

  let growth: Record<string, unknown> | undefined;
  if (wanted('growth') && !hasRedisServer()) log('growth: no redis-server on PATH, skipped (it needs a dedicated Redis)');
  else if (wanted('growth')) {
    log(`growth: ${cfg.growth} live sessions in a dedicated redis-server on a free port`);
    growth = await runGrowth();
    type Point = {
      sessions: number;
      keys: number;
      usedMemory: number;
      populateSeconds: number;
      populated: number;
      unprotectedCpuUs: number;
      cases: Record<
        string,
        { ratio: number; ratioIqr: [number, number]; cpuUs: number; cpuUsIqr: [number, number]; failures: number; rps?: number }
      >;
      refresh: { perSecond: number; cpuUs: number; cpuUsIqr: [number, number]; failed: number; firstError?: string };
    };
    const g = growth as { bytes: Record<string, number>; points: Point[]; usedMemoryPerSession?: number };
    const size = (n: number) => (n >= 1e6 ? `${n / 1e6}M` : n >= 1e3 ? `${n / 1e3}k` : String(n));
    const series: Record<string, Array<[number, number]>> = {};
    for (const p of g.points) {
      for (const [id, c] of Object.entries(p.cases)) {
        const label = id === 'session-redis' ? 'requireSession() — RedisStore' : '+ tryGetToken() vault read — RedisStore';
        rows.push({
          id: `growth-${id}-${p.sessions}`,
          case: `growth: ${label}, ${size(p.sessions)} live sessions`,
          value: c.rps ?? NaN,
          unit: 'req/s',
          ratio: c.ratio,
          ratioIqr: c.ratioIqr,
          cpuUs: c.cpuUs,
          cpuUsIqr: c.cpuUsIqr,
          target: 'flat',
          ...(c.failures ? { pass: false, note: `${c.failures} failed requests: INVALID` } : {}),
        });
        (series[id] ??= []).push([p.sessions, c.cpuUs]);
      }
      rows.push({
        id: `growth-refresh-grant-${p.sessions}`,
        case: `growth: refresh_token grant — RedisStore, ${size(p.sessions)} live sessions`,
        value: p.refresh.perSecond,
        unit: 'refreshes/s',
        cpuUs: p.refresh.cpuUs,
        cpuUsIqr: p.refresh.cpuUsIqr,
        target: 'flat',
        note: `${p.keys.toLocaleString('en-US')} keys, used_memory ${(p.usedMemory / 2 ** 20).toFixed(0)} MiB${p.populated ? `, ${p.populated.toLocaleString('en-US')} populated in ${p.populateSeconds.toFixed(0)} s` : ''}${p.refresh.failed ? `, ${p.refresh.failed} FAILED: ${p.refresh.firstError}` : ''}`,
        ...(p.refresh.failed ? { pass: false } : {}),
      });
      (series['refresh-grant'] ??= []).push([p.sessions, p.refresh.cpuUs]);
    }
    // Slope: least squares of CPU per operation against log10(live sessions), and last ÷ first.
    for (const [id, pts] of Object.entries(series)) {
      if (pts.length < 2) continue;
      const xs = pts.map(([n]) => Math.log10(n));
      const ys = pts.map(([, y]) => y);
      const mx = xs.reduce((s0, x) => s0 + x, 0) / xs.length;
      const my = ys.reduce((s0, y) => s0 + y, 0) / ys.length;
      const slope = xs.reduce((s0, x, i) => s0 + (x - mx) * (ys[i]! - my), 0) / xs.reduce((s0, x) => s0 + (x - mx) ** 2, 0);
      const label = id === 'session-redis' ? 'requireSession()' : id === 'vault-redis' ? 'vault read' : 'refresh_token grant';
      const [n0, y0] = pts[0]!;
      const [n1, y1] = pts.at(-1)!;
      rows.push({
        id: `growth-slope-${id}`,
        case: `growth slope: ${label} server CPU per op at ${size(n1)} ÷ at ${size(n0)} sessions`,
        value: y1 / y0,
        unit: '×',
        target: 'flat',
        note: `${slope >= 0 ? '+' : ''}${slope.toFixed(1)} µs per 10× sessions (least squares; ${((slope / my) * 100).toFixed(1)}% of the mean per 10×)`,
      });
    }
    rows.push({
      id: 'redis-bytes-apps1',
      case: 'Redis: bytes per live session (MEMORY USAGE over its keys), one linked app',
      value: g.bytes.apps1!,
      unit: 'B/session',
      target: 'report',
      note: `${g.bytes.keysApps1} keys${g.usedMemoryPerSession ? `; used_memory grows ${Math.round(g.usedMemoryPerSession)} B per session` : ''}`,
    });
    rows.push({
      id: 'redis-bytes-apps3',
      case: 'Redis: bytes per live session, three linked apps (local mode)',
      value: g.bytes.apps3!,
      unit: 'B/session',
      target: 'report',
      note: `${g.bytes.keysApps3} keys`,
    });
  }

  let micro: MicroResult[] | undefined;
  if (wanted('micro')) {
    log('per-request CPU in-process (no HTTP): best of 5 repetitions');
    micro = await runMicro(q ? 500 : 20_000);
    for (const x of micro) log(`  ${x.microseconds.toFixed(2).padStart(8)} µs  ${x.label}`);
  }

  let soak: SoakRun[] | undefined;
  if (wanted('soak')) {
    soak = await runSoak({ seconds: cfg.soakSeconds, stores: ready.redisError ? ['memory'] : ['redis', 'memory'], users: q ? 4 : 16 });
    rows.push(...soakRows(soak).map((r, i) => ({ id: `soak-${soak![i]?.store ?? i}`, ...r })));
  }

  m.loadavgEnd = os.loadavg().map((x) => Math.round(x * 100) / 100);
  const text = table(rows);
  const microText = micro
    ? `\n\nIn-process cost per request (no HTTP; best of 5):\n${micro.map((x) => `${x.microseconds.toFixed(2).padStart(8)} µs  ${x.label}`).join('\n')}`
    : '';
  process.stdout.write(`\n${text}${microText}\n\nMachine: ${machineLine(m)}\n`);
  const missed = rows.filter((r) => r.pass === false).map((r) => r.case);
  process.stdout.write(missed.length ? `Targets missed: ${missed.join('; ')}\n` : 'All targets met.\n');
  const results = {
    machine: m,
    config: { ...cfg, out: relative(root, cfg.out) },
    rows,
    table: text,
    missed,
    throughput,
    signIns,
    signInSteps: steps,
    memory,
    growth,
    micro,
    soak,
    server: serverInfo,
  };
  if (earlier)
    process.stdout.write(
      `\nChange against ${a.compare} (${(earlier as { machine?: { date?: string } }).machine?.date ?? '?'}):\n\n${compare(earlier, results)}\n`,
    );
  mkdirSync(dirname(cfg.out), { recursive: true });
  writeFileSync(cfg.out, `${JSON.stringify(results, null, 2)}\n`);
  log(`wrote ${cfg.out}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
