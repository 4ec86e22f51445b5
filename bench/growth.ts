/**
 * Growth: does the cost of a request depend on how many sessions are live? Run by bench/run.ts as
 * its own process (`npx tsx bench/growth.ts --sizes 1000,100000,1000000`), it
 *  1. starts a dedicated `redis-server` on a free loopback port (never the shared one: a million
 *     sessions are gigabytes), without persistence, and the bench server against it;
 *  2. fills it with live sessions through the proxy's own services and store API (the keys and values a
 *     real sign-in leaves: sealed vault record, session, refresh token, used-code marker, browser
 *     session; see bench/sessions.ts), many at once so node-redis pipelines the writes;
 *  3. at each size, measures the hot path (`requireSession()`), the vault read and the `refresh_token`
 *     grant against the unprotected route, alternately, with the server's CPU per operation;
 *  4. reports bytes per session: `MEMORY USAGE` summed over each sampled session's keys, with one
 *     linked app and with three (local mode: three apps' vault records, tokens and sign-in claims, under
 *     one sid, written by Grants.linkApp()), and Redis' `used_memory` growth per session.
 * Prints `RESULT <json>` on stdout; progress on stderr.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient } from 'redis';
import type { SessionData } from 'express-session';
import { RedisStore, type Store } from '../lib/index.js';
import { alternate, iqr, median, type Target } from './load.js';
import { pinLoadGenerator, pinning, startServer } from './harness.js';
import { execFileSync } from 'node:child_process';
import { registerClient, signIn } from './signin.js';
import { startStubUpstream } from './upstream.js';
import { runRefreshGrants } from './refresh.js';
import { browserStore, createLiveSession, createSession, quiet, services } from './sessions.js';
import { storeNamespace } from '../lib/stores/namespaced.js';

const log = (s: string) => process.stderr.write(`${s}\n`);
const { values: a } = parseArgs({
  options: {
    sizes: { type: 'string', default: '1000,100000,1000000' },
    rounds: { type: 'string', default: '6' },
    seconds: { type: 'string', default: '1' },
    connections: { type: 'string', default: '50' },
    sample: { type: 'string', default: '200' },
    concurrency: { type: 'string', default: '400' },
  },
});
const sizes = a.sizes
  .split(',')
  .map(Number)
  .sort((x, y) => x - y);
const rounds = Number(a.rounds);
const seconds = Number(a.seconds);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

async function startRedis(): Promise<{ url: string; proc: ChildProcess }> {
  const port = await freePort();
  const proc = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'yes', '--loglevel', 'warning'],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    const c = createClient({ url, socket: { reconnectStrategy: false, connectTimeout: 500 } });
    c.on('error', () => {});
    try {
      await c.connect();
      await c.ping();
      await c.close();
      return { url, proc };
    } catch {
      await sleep(100);
    }
  }
  proc.kill();
  throw new Error(`redis-server did not start on port ${port}`);
}

/** A Store view of the RedisStore that records the keys written while `capture` is set (for MEMORY USAGE). */
function recording(store: RedisStore): { store: Store; capture: { keys?: string[] } } {
  const capture: { keys?: string[] } = {};
  const proxy = new Proxy(store, {
    get(target, prop) {
      if (prop === 'set' || prop === 'add') {
        return (key: string, ...rest: unknown[]) => {
          capture.keys?.push(key);
          return (target[prop] as (...x: unknown[]) => unknown).call(target, key, ...rest);
        };
      }
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? (v as (...x: unknown[]) => unknown).bind(target) : v;
    },
  });
  return { store: proxy as unknown as Store, capture };
}

/**
 * A Store that only collects the writes the proxy's services make (key, value, TTL), so a million
 * sessions' records can be produced by the real services (sealing, hashing, serialisation) and then
 * sent as the very commands RedisStore sends (`SET prefix+key value PX ttl`), pipelined in batches.
 */
class CaptureStore implements Store {
  readonly atomic = true;
  readonly available = true;
  writes: Array<[string, string, number]> = [];
  async get(): Promise<string | undefined> {
    return undefined;
  }
  async set(key: string, value: string, ttlMs: number): Promise<void> {
    this.writes.push([key, value, ttlMs]);
  }
  async add(key: string, value: string, ttlMs: number): Promise<boolean> {
    this.writes.push([key, value, ttlMs]);
    return true;
  }
  async take(): Promise<string | undefined> {
    return undefined;
  }
  async delete(): Promise<void> {}
  async deleteIf(): Promise<boolean> {
    return false;
  }
  async renewIf(): Promise<boolean> {
    return false;
  }
  async ping(): Promise<void> {}
}

/**
 * A plain RESP connection for the bulk writes: every batch is one socket write of `SET key value PX ttl`
 * commands (what RedisStore.set sends), and resolves once Redis has answered `+OK` to each of them.
 * node-redis' per-command promise and encoding cost more than the sessions' own services here.
 */
class RawPipe {
  readonly #sock: net.Socket;
  readonly #waiting: Array<{ left: number; resolve: () => void; reject: (e: Error) => void }> = [];
  constructor(port: number) {
    this.#sock = net.connect(port, '127.0.0.1');
    this.#sock.setNoDelay(true);
    this.#sock.on('data', (d: Buffer) => {
      const text = d.toString('latin1');
      let from = 0;
      for (let i = text.indexOf('\r\n'); i >= 0; i = text.indexOf('\r\n', i + 2)) {
        const w = this.#waiting[0];
        if (!w) break;
        if (text[from] === '-') {
          w.reject(new Error(`redis: ${text.slice(from, i)}`));
          this.#waiting.shift();
          from = i + 2;
          continue;
        }
        from = i + 2;
        if (--w.left === 0) {
          this.#waiting.shift();
          w.resolve();
        }
      }
    });
    this.#sock.on('error', (e) => {
      for (const w of this.#waiting.splice(0)) w.reject(e);
    });
  }
  set(writes: Array<[string, string, number]>): Promise<void> {
    if (!writes.length) return Promise.resolve();
    const arg = (x: string) => `$${Buffer.byteLength(x)}\r\n${x}\r\n`;
    const payload = writes
      .map(([k, v, t]) => `*5\r\n$3\r\nSET\r\n${arg(k)}${arg(v)}$2\r\nPX\r\n${arg(String(Math.max(1, Math.ceil(t))))}`)
      .join('');
    return new Promise((resolve, reject) => {
      this.#waiting.push({ left: writes.length, resolve, reject });
      this.#sock.write(payload);
    });
  }
  close(): void {
    this.#sock.end();
  }
}

async function main(): Promise<void> {
  pinLoadGenerator();
  const t0 = performance.now();
  const redis = await startRedis();
  log(`growth: dedicated redis-server at ${redis.url}`);
  const prefix = 'growth:';
  const upstream = await startStubUpstream();
  const server = await startServer({
    upstream: upstream.issuer,
    env: { REDIS_URL: redis.url, BENCH_REDIS_PREFIX: prefix, BENCH_PEERS: '0' },
  });
  const client = createClient({ url: redis.url });
  client.on('error', (e: unknown) => log(`redis client: ${String(e)}`));
  await client.connect();
  const out: Record<string, unknown> = { redis: redis.url.replace(/:\d+$/, ':<free port>') };
  try {
    const issuer = server.ready.issuers.redis;
    if (!issuer) throw new Error(`the server has no Redis proxy: ${server.ready.redisError}`);
    const redisStore = new RedisStore({ client, prefix, logger: quiet });
    const rec = recording(redisStore);
    const ctx = services(rec.store, { issuer, provider: upstream.issuer, resource: `${server.ready.base}/mcp` });

    // Real sign-ins: the tokens under test, refresh chains, and a real browser-session record as the template.
    const clientId = await registerClient(issuer);
    const access = (await signIn(issuer, clientId)).access_token;
    const chains: string[] = [];
    for (let i = 0; i < 8; i++) chains.push((await signIn(issuer, clientId)).refresh_token);
    let template: SessionData | undefined;
    for await (const batch of client.scanIterator({ MATCH: `${prefix}*bsess:*`, COUNT: 100 })) {
      const k = (Array.isArray(batch) ? batch : [batch]) as string[];
      if (k[0]) {
        template = JSON.parse((await client.get(k[0]))!) as SessionData;
        break;
      }
    }
    if (!template) throw new Error('no browser-session record found after a sign-in');
    const bs = browserStore(ctx);
    const capture = new CaptureStore();
    const fast = services(capture, { issuer, provider: upstream.issuer, resource: `${server.ready.base}/mcp` });
    const fastBrowser = browserStore(fast);
    const pipe = new RawPipe(Number(new URL(redis.url).port));

    // Bytes per session: sampled sessions created one at a time, their keys recorded.
    const bytes: Record<string, number> = {};
    for (const apps of [1, 3]) {
      let total = 0;
      let keyCount = 0;
      const n = Number(a.sample);
      for (let i = 0; i < n; i++) {
        rec.capture.keys = [];
        const o: { browserSid?: string } = {};
        await createSession(ctx, { store: bs, template }, { apps, out: o });
        const ks = [...new Set(rec.capture.keys.map((k) => prefix + k)), `${prefix}${storeNamespace(issuer)}bsess:${o.browserSid}`];
        rec.capture.keys = undefined;
        for (const k of ks) {
          const u = await client.memoryUsage(k, { SAMPLES: 0 });
          if (u !== null) {
            total += Number(u);
            keyCount += 1;
          }
        }
      }
      bytes[`apps${apps}`] = total / n;
      bytes[`keysApps${apps}`] = keyCount / n;
      log(
        `  MEMORY USAGE: ${(total / n).toFixed(0)} B per session over ${(keyCount / n).toFixed(1)} keys, ${apps} linked app${apps > 1 ? 's' : ''}`,
      );
    }
    out.bytes = bytes;

    const plain: Target = { id: 'unprotected', url: `${server.ready.base}/plain`, token: access };
    const targets: Target[] = [
      { id: 'session-redis', url: `${server.ready.base}/redis/mcp`, token: access },
      { id: 'vault-redis', url: `${server.ready.base}/redis/mcp-vault`, token: access },
    ];
    const info = async () => Number(/used_memory:(\d+)/.exec(await client.info('memory'))![1]);
    const points: Array<Record<string, unknown>> = [];
    let live = 0;
    let total = 9 + 2 * Number(a.sample); // sessions so far: the real sign-ins and the sampled ones
    const _concurrency = Number(a.concurrency); // parsed but not used yet: node-redis pipelines the writes (see below)
    for (const size of sizes) {
      // Populate up to `size` sessions (the sampled ones count), `concurrency` at a time: node-redis pipelines them.
      const want = Math.max(0, size - total);
      total += want;
      // Population may use every core (the server is idle meanwhile); measurement is pinned again.
      if (pinning)
        try {
          execFileSync(pinning.taskset, ['-a', '-p', '-c', `0-${pinning.server}`, String(process.pid)], { stdio: 'ignore' });
        } catch {
          /* stay pinned */
        }
      const p0 = performance.now();
      const c0 = process.cpuUsage();
      let made = 0;
      let lastLog = p0;
      const batch = 250;
      await Promise.all(
        Array.from({ length: Math.min(4, Math.ceil(want / batch)) }, async () => {
          while (made < want) {
            const n = Math.min(batch, want - made);
            made += n;
            const writes: Array<[string, string, number]> = [];
            for (let i = 0; i < n; i++) {
              capture.writes = writes;
              await createLiveSession(fast, { store: fastBrowser, template: template! });
            }
            await pipe.set(writes.map(([k, v, t]) => [prefix + k, v, t]));
            if (performance.now() - lastLog > 15_000) {
              lastLog = performance.now();
              log(`    populating: ${made}/${want} (${(made / ((lastLog - p0) / 1000)).toFixed(0)} sessions/s)`);
            }
          }
        }),
      );
      const popSeconds = (performance.now() - p0) / 1000;
      const popCpu = process.cpuUsage(c0);
      if (want) log(`    population: ${((popCpu.user + popCpu.system) / want).toFixed(0)} µs of this process's CPU per session`);
      pinLoadGenerator();
      live = Number(await client.dbSize());
      const usedMemory = await info();
      log(
        `  ${size.toLocaleString('en-US')} sessions: populated ${want} in ${popSeconds.toFixed(1)} s (${(want / Math.max(popSeconds, 0.001)).toFixed(0)}/s); ${live} keys, used_memory ${(usedMemory / 2 ** 20).toFixed(0)} MiB`,
      );
      const r = await alternate(plain, targets, { connections: Number(a.connections), seconds, rounds, cpu: server.cpu, log: () => {} });
      const refresh = [];
      for (let i = 0; i < rounds; i++) refresh.push(await runRefreshGrants({ issuer, clientId, chains, seconds, cpu: server.cpu }));
      const point = {
        sessions: size,
        keys: live,
        usedMemory,
        populateSeconds: popSeconds,
        populated: want,
        cases: Object.fromEntries(
          r.cases.map((c) => [
            c.id,
            {
              rps: c.medianRps,
              ratio: c.medianRatio,
              ratioIqr: c.ratioIqr,
              cpuUs: c.medianCpuUsPerReq,
              cpuUsIqr: iqr(c.samples.map((s) => s.cpuUsPerReq)),
              failures: c.failures,
            },
          ]),
        ),
        unprotectedCpuUs: r.baseline.medianCpuUsPerReq,
        refresh: {
          perSecond: median(refresh.map((x) => x.perSecond)),
          cpuUs: median(refresh.map((x) => x.cpuUs)),
          cpuUsIqr: iqr(refresh.map((x) => x.cpuUs)),
          failed: refresh.reduce((n, x) => n + x.failed, 0),
          firstError: refresh.find((x) => x.firstError)?.firstError,
        },
      };
      points.push(point);
      log(
        `    hot path ${point.cases['session-redis']!.cpuUs.toFixed(0)} µs/req (ratio ${point.cases['session-redis']!.ratio.toFixed(2)}), vault read ${point.cases['vault-redis']!.cpuUs.toFixed(0)} µs/req (ratio ${point.cases['vault-redis']!.ratio.toFixed(2)}), refresh grant ${point.refresh.cpuUs.toFixed(0)} µs/refresh, ${point.refresh.perSecond.toFixed(0)}/s`,
      );
    }
    out.points = points;
    // The bulk-written sessions are real ones: one of them opens through the real RedisStore and services.
    capture.writes = [];
    const probeSid = await createLiveSession(fast, { store: fastBrowser, template });
    await pipe.set(capture.writes.map(([k, v, t]) => [prefix + k, v, t]));
    const opened = await ctx.vault.get(probeSid, ctx.upstreams.primary.id);
    const record = await ctx.grants.get(probeSid);
    if (!opened?.access_token || record?.sid !== probeSid) throw new Error('a bulk-written session does not open through RedisStore');
    out.bulkSessionOpens = true;
    pipe.close();
    if (points.length >= 2) {
      const first = points[0]!;
      const last = points.at(-1)!;
      out.usedMemoryPerSession = (Number(last.usedMemory) - Number(first.usedMemory)) / (Number(last.sessions) - Number(first.sessions));
    }
  } finally {
    await server.shutdown();
    await upstream.close();
    await client.close().catch(() => {});
    redis.proc.kill('SIGTERM');
    await new Promise((r) => redis.proc.once('exit', r));
  }
  out.seconds = (performance.now() - t0) / 1000;
  process.stdout.write(`RESULT ${JSON.stringify(out)}\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
