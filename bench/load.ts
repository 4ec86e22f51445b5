import autocannon from 'autocannon';

/** One autocannon run against one route. */
export interface Sample {
  rps: number;
  requests: number;
  non2xx: number;
  errors: number;
  p50ms: number;
  p99ms: number;
  /** Server CPU time (user + system, all threads) per successful request, in µs; less sensitive to other load than req/s. */
  cpuUsPerReq: number;
}

/** Reads the server process's cumulative CPU time in µs. */
export type CpuProbe = () => Promise<number>;

/** A route under load: a path and the bearer token to send (if any). */
export interface Target {
  id: string;
  url: string;
  token?: string;
}

/** Runs autocannon (programmatic API) for `seconds` with `connections` keep-alive connections. */
export async function measure(t: Target, o: { connections: number; seconds: number; cpu?: CpuProbe }): Promise<Sample> {
  const cpu0 = await o.cpu?.();
  const result = await autocannon({
    url: t.url,
    connections: o.connections,
    duration: o.seconds,
    pipelining: 1,
    headers: t.token ? { authorization: `Bearer ${t.token}` } : {},
  });
  const cpu1 = await o.cpu?.();
  const ok = (result as unknown as Record<string, number>)['2xx'] ?? 0;
  return {
    rps: ok / result.duration,
    requests: ok,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    p50ms: result.latency.p50,
    p99ms: result.latency.p99,
    cpuUsPerReq: cpu0 !== undefined && cpu1 !== undefined && ok > 0 ? (cpu1 - cpu0) / ok : NaN,
  };
}

/** The q-quantile (0…1) with linear interpolation; `median` is q = 0.5. */
export const quantile = (xs: readonly number[], q: number): number => {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b); // a NaN (0/0: a run with no answers) would scramble the sort
  if (s.length === 0) return NaN;
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  return s[lo]! + (s[Math.min(lo + 1, s.length - 1)]! - s[lo]!) * (pos - lo);
};
export const median = (xs: readonly number[]): number => quantile(xs, 0.5);
/** The interquartile range [q1, q3]. */
export const iqr = (xs: readonly number[]): [number, number] => [quantile(xs, 0.25), quantile(xs, 0.75)];

/** Per-case outcome of {@link alternate}. */
export interface CaseResult {
  id: string;
  samples: Sample[];
  /** Each round's ratio to the mean of the unprotected runs just before and just after it. */
  ratios: number[];
  /** The same, from server CPU per request: unprotected CPU/request ÷ this case's CPU/request. */
  cpuRatios: number[];
  medianRps: number;
  medianRatio: number;
  /** Interquartile range of the per-round ratios: how noisy this run was. */
  ratioIqr: [number, number];
  medianCpuUsPerReq: number;
  medianCpuRatio: number;
  /** Interquartile range of the per-round CPU ratios. */
  cpuRatioIqr: [number, number];
  failures: number;
}

/**
 * Measures every case against the unprotected route, alternately, in one run:
 * each round is `U, C1, U, C2, U, …, Cn, U` (case order rotated every round),
 * and each case's ratio is taken against the mean of the two unprotected runs
 * around it, so drift in machine load cancels. Reports median ratios.
 */
export async function alternate(
  baseline: Target,
  cases: Target[],
  o: { connections: number; seconds: number; rounds: number; cpu?: CpuProbe; log: (s: string) => void },
): Promise<{ baseline: CaseResult; cases: CaseResult[] }> {
  const base: Sample[] = [];
  const per = new Map(cases.map((c) => [c.id, { samples: [] as Sample[], ratios: [] as number[], cpuRatios: [] as number[] }]));
  for (let r = 0; r < o.rounds; r++) {
    const order = cases.map((_, i) => cases[(i + r) % cases.length]!);
    let before = await measure(baseline, o);
    base.push(before);
    for (const c of order) {
      const s = await measure(c, o);
      const after = await measure(baseline, o);
      base.push(after);
      const ratio = s.rps / ((before.rps + after.rps) / 2);
      const cpuRatio = (before.cpuUsPerReq + after.cpuUsPerReq) / 2 / s.cpuUsPerReq;
      const p = per.get(c.id)!;
      p.samples.push(s);
      p.ratios.push(ratio);
      if (Number.isFinite(cpuRatio)) p.cpuRatios.push(cpuRatio);
      o.log(
        `  round ${r + 1}/${o.rounds}  ${c.id.padEnd(16)} ${s.rps.toFixed(0).padStart(6)} req/s  ratio ${ratio.toFixed(3)}  (unprotected ${before.rps.toFixed(0)}/${after.rps.toFixed(0)})  CPU ${s.cpuUsPerReq.toFixed(0)} µs/req  CPU ratio ${cpuRatio.toFixed(3)}${s.non2xx || s.errors ? `  (${s.non2xx} non-2xx, ${s.errors} errors!)` : ''}`,
      );
      before = after;
    }
  }
  const summarize = (id: string, samples: Sample[], ratios: number[], cpuRatios: number[]): CaseResult => ({
    id,
    samples,
    ratios,
    cpuRatios,
    medianRps: median(samples.map((s) => s.rps)),
    medianRatio: ratios.length ? median(ratios) : 1,
    ratioIqr: ratios.length ? iqr(ratios) : [1, 1],
    medianCpuUsPerReq: median(samples.map((s) => s.cpuUsPerReq).filter(Number.isFinite)),
    medianCpuRatio: cpuRatios.length ? median(cpuRatios) : 1,
    cpuRatioIqr: cpuRatios.length ? iqr(cpuRatios) : [1, 1],
    failures: samples.reduce((n, s) => n + s.non2xx + s.errors, 0),
  });
  return {
    baseline: summarize(baseline.id, base, [], []),
    cases: cases.map((c) => summarize(c.id, per.get(c.id)!.samples, per.get(c.id)!.ratios, per.get(c.id)!.cpuRatios)),
  };
}
