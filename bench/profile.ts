/**
 * Where does a route's time go? Profiles each route in its own bench server
 * (CPU profile of the measured window only, after a warm-up), normalises the
 * samples per request, and prints each route's cost per request by function and
 * by module, diffed against the first route.
 *
 *   npx tsx bench/profile.ts /plain /memory/mcp-vault [--seconds 8] [--connections 50]
 *
 * Routes: /plain, /memory/mcp, /memory/mcp-vault, /redis/mcp, /redis/mcp-vault, /sdk/mcp, and
 * `signin:memory` / `signin:redis` (complete sign-ins from 8 concurrent browsers; costs per sign-in).
 * The .cpuprofile files are kept (paths printed) for Chrome DevTools or speedscope.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { measure } from './load.js';
import { pinLoadGenerator, pinningLine, startServer } from './harness.js';
import { startStubUpstream } from './upstream.js';
import { registerClient, runSignIns, signIn } from './signin.js';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}
type Costs = { byFunction: Map<string, number>; byModule: Map<string, number>; total: number };

const moduleOf = (url: string) => {
  if (!url) return '(V8/native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  const own = /\/((?:lib|bench)\/[^?]*)/.exec(url);
  return own ? own[1]! : url.replace(/^node:(internal\/)?/, 'node:');
};

/** µs per request, by function (self time) and by module of the leaf frame; idle excluded. */
function costs(p: Profile, requests: number): Costs {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const byFunction = new Map<string, number>();
  const byModule = new Map<string, number>();
  let total = 0;
  p.samples.forEach((id, i) => {
    const f = byId.get(id)!.callFrame;
    if (f.functionName === '(idle)') return;
    const us = (p.timeDeltas[i] ?? 0) / requests;
    const mod = f.functionName === '(garbage collector)' ? '(garbage collector)' : moduleOf(f.url);
    const fn = `${f.functionName || '(anonymous)'}  ${mod}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
    byModule.set(mod, (byModule.get(mod) ?? 0) + us);
    total += us;
  });
  return { byFunction, byModule, total };
}

function print(title: string, base: Map<string, number> | undefined, cur: Map<string, number>, top: number): void {
  console.log(`  ${title}`);
  const keys = new Set([...cur.keys(), ...(base?.keys() ?? [])]);
  const rows = [...keys]
    .map((k) => ({ k, a: base?.get(k) ?? 0, b: cur.get(k) ?? 0 }))
    .sort((x, y) => (base ? Math.abs(y.b - y.a) - Math.abs(x.b - x.a) : y.b - x.b))
    .slice(0, top);
  for (const r of rows)
    console.log(`    ${r.b.toFixed(2).padStart(7)} µs${base ? `  (${r.b - r.a >= 0 ? '+' : ''}${(r.b - r.a).toFixed(2)})` : ''}  ${r.k}`);
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      seconds: { type: 'string', default: '8' },
      connections: { type: 'string', default: '50' },
      top: { type: 'string', default: '20' },
    },
  });
  const routes = positionals.length ? positionals : ['/plain', '/memory/mcp', '/memory/mcp-vault'];
  const dir = mkdtempSync(join(tmpdir(), 'mcp-oauth-proxy-profile-'));
  pinLoadGenerator();
  console.log(pinningLine());
  const upstream = await startStubUpstream(); // here, not in the server: the profile shows the proxy alone
  let base: Costs | undefined;
  for (const route of routes) {
    const server = await startServer({ upstream: upstream.issuer });
    try {
      const store = route.startsWith('/redis') || route === 'signin:redis' ? 'redis' : 'memory';
      const issuer = server.ready.issuers[store];
      if (!issuer) throw new Error(`${route}: Redis is unavailable (${server.ready.redisError})`);
      if (route.startsWith('signin:')) {
        await runSignIns({ issuer, register: true, workers: 8, durationMs: 2000 }); // warm-up
        const path = join(dir, `${route.replace(/\W+/g, '_')}.cpuprofile`);
        await server.profileStart();
        const run = await runSignIns({ issuer, register: true, workers: 8, durationMs: Number(values.seconds) * 1000 });
        await server.profileStop(path);
        const c = costs(JSON.parse(readFileSync(path, 'utf8')) as Profile, run.completed);
        console.log(
          `\n${route}: ${run.perSecond.toFixed(1)} sign-ins/s (${run.failed} failed${run.firstError ? `: ${run.firstError}` : ''}), ${(c.total / 1000).toFixed(2)} ms CPU/sign-in in the main thread (register → authorize → consent → callback → token; stub upstream in another process) — ${path}`,
        );
        print('by module (µs per sign-in)', undefined, c.byModule, Number(values.top));
        print('by function (self time, µs per sign-in)', undefined, c.byFunction, Number(values.top));
        continue;
      }
      const token = route === '/plain' ? undefined : (await signIn(issuer, await registerClient(issuer))).access_token;
      const target = { id: route, url: server.ready.base + route, ...(token ? { token } : {}) };
      await measure(target, { connections: Number(values.connections), seconds: 2 }); // warm-up, not profiled
      const path = join(dir, `${route.replace(/\W+/g, '_')}.cpuprofile`);
      await server.profileStart();
      const s = await measure(target, { connections: Number(values.connections), seconds: Number(values.seconds) });
      await server.profileStop(path);
      if (s.non2xx || s.errors) throw new Error(`${route}: ${s.non2xx} non-2xx, ${s.errors} errors`);
      const c = costs(JSON.parse(readFileSync(path, 'utf8')) as Profile, s.requests);
      console.log(
        `\n${route}: ${s.rps.toFixed(0)} req/s, ${c.total.toFixed(1)} µs CPU/request in the main thread${base ? ` (${c.total - base.total >= 0 ? '+' : ''}${(c.total - base.total).toFixed(1)} vs ${routes[0]})` : ''}  — ${path}`,
      );
      print('by module', base?.byModule, c.byModule, Number(values.top));
      print('by function (self time)', base?.byFunction, c.byFunction, Number(values.top));
      base ??= c;
    } finally {
      await server.shutdown();
    }
  }
  await upstream.close();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
