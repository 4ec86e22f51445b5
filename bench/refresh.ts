/**
 * The refresh paths, from the client's side:
 *  - the proxy's own `refresh_token` grant (`POST /token`, rotation): `chains` concurrent clients, each
 *    redeeming the refresh token the previous answer gave it, as a client does;
 *  - the upstream refresh behind `tryGetToken()`: a proxy whose upstream issues access tokens that are
 *    already inside the refresh skew, so every MCP request refreshes upstream (broker: vault read, store
 *    lock `add`, vault re-read, upstream `/token` with the refresh token, vault write, session check,
 *    lock release); one session per worker, so each request is a refresh of its own;
 *  - the single flight plus lock: a burst of concurrent requests on one expired session, and how many
 *    upstream refreshes it caused (must be 1).
 */
import type { CpuProbe } from './load.js';

/** Outcome of a closed-loop run. */
export interface LoopRun {
  completed: number;
  failed: number;
  perSecond: number;
  /** Server CPU per completed operation, µs. */
  cpuUs: number;
  firstError?: string;
}

async function loop(workers: number, seconds: number, cpu: CpuProbe, op: (worker: number) => Promise<void>): Promise<LoopRun> {
  let completed = 0;
  let failed = 0;
  let firstError: string | undefined;
  const cpu0 = await cpu();
  const start = performance.now();
  const deadline = start + seconds * 1000;
  await Promise.all(
    Array.from({ length: workers }, async (_, w) => {
      while (performance.now() < deadline) {
        try {
          await op(w);
          completed += 1;
        } catch (err) {
          failed += 1;
          firstError ??= err instanceof Error ? err.message : String(err);
          if (failed > 1000) return;
        }
      }
    }),
  );
  const elapsed = (performance.now() - start) / 1000;
  const used = (await cpu()) - cpu0;
  return {
    completed,
    failed,
    perSecond: completed / elapsed,
    cpuUs: completed ? used / completed : NaN,
    ...(firstError ? { firstError } : {}),
  };
}

/** `refresh_token` grants on `chains.length` rotating chains (each entry: the chain's current refresh token, updated in place). */
export function runRefreshGrants(o: {
  issuer: string;
  clientId: string;
  chains: string[];
  seconds: number;
  cpu: CpuProbe;
}): Promise<LoopRun> {
  return loop(o.chains.length, o.seconds, o.cpu, async (w) => {
    const res = await fetch(`${o.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: o.chains[w]!, client_id: o.clientId }),
    });
    const body = (await res.json()) as { refresh_token?: string; access_token?: string };
    if (res.status !== 200 || !body.refresh_token || !body.access_token) throw new Error(`refresh: ${res.status} ${JSON.stringify(body)}`);
    o.chains[w] = body.refresh_token;
  });
}

/** GETs of `url`, worker `w` sending `tokens[w]` (one session per worker). */
export function runGets(o: { url: string; tokens: string[]; seconds: number; cpu: CpuProbe }): Promise<LoopRun> {
  return loop(o.tokens.length, o.seconds, o.cpu, async (w) => {
    const res = await fetch(o.url, { headers: { authorization: `Bearer ${o.tokens[w]}` } });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`${o.url}: ${res.status} ${text.slice(0, 200)}`);
  });
}

/**
 * `n` concurrent requests on one session whose upstream token needs a refresh, spread over `urls` (one per
 * proxy instance); returns how many upstream refreshes it caused.
 */
export async function refreshBurst(o: {
  urls: string[];
  token: string;
  n: number;
  refreshes: () => number;
}): Promise<{ requests: number; ok: number; upstreamRefreshes: number }> {
  const before = o.refreshes();
  const codes = await Promise.all(
    Array.from({ length: o.n }, async (_, i) => {
      const res = await fetch(o.urls[i % o.urls.length]!, { headers: { authorization: `Bearer ${o.token}` } });
      await res.arrayBuffer();
      return res.status;
    }),
  );
  return { requests: o.n, ok: codes.filter((c) => c === 200).length, upstreamRefreshes: o.refreshes() - before };
}
