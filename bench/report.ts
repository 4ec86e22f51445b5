import os from 'node:os';

/** One row of the printed table and of results.json. */
export interface Row {
  /** Stable id (what `--compare` matches rows by). */
  id: string;
  case: string;
  /** req/s, sign-ins/s, bytes per session, … (see `unit`): the median over rounds. */
  value: number;
  unit: 'req/s' | 'sign-ins/s' | 'refreshes/s' | 'B/session' | 'B/entry' | 'entries' | 'µs' | 'ms' | 'upstream refreshes' | '×';
  /** Interquartile range of `value` over the rounds (or its range, when there are fewer than 4). */
  spread?: [number, number];
  /** Ratio to the unprotected route in the same run (throughput rows). */
  ratio?: number;
  /** Interquartile range of the per-round ratios. */
  ratioIqr?: [number, number];
  /** Server CPU time per operation (request, sign-in, refresh), µs, median over rounds; and its spread. */
  cpuUs?: number;
  cpuUsIqr?: [number, number];
  /** The unprotected route's CPU per request divided by this row's, median over rounds; and its IQR. */
  cpuRatio?: number;
  cpuRatioIqr?: [number, number];
  /** Ratio to the SDK requireBearerAuth baseline in the same run (proxy rows). */
  vsSdk?: number;
  target: string;
  /** `undefined` for rows without a target. */
  pass?: boolean;
  note?: string;
}

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  os: string;
  node: string;
  date: string;
  loadavgStart: number[];
  loadavgEnd?: number[];
  /** How server and load generator shared the cores. */
  pinning?: string;
}

export function machine(): Machine {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    date: new Date().toISOString(),
    loadavgStart: os.loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

const num = (x: number) => (Math.abs(x) >= 100 ? Math.round(x).toLocaleString('en-US') : x >= 10 ? x.toFixed(1) : x.toFixed(2));
/** µs, or ms from 1 ms on. */
export const fmtCpu = (us: number) => (us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${us.toFixed(us >= 100 ? 0 : 1)} µs`);
const fmtSpread = (s: [number, number] | undefined, f: (x: number) => string) => (s ? ` (${f(s[0])}–${f(s[1])})` : '');
const fmtValue = (r: Row) => `${num(r.value)} ${r.unit}${fmtSpread(r.spread, num)}`;
const fmtPass = (r: Row) => (r.pass === undefined ? '' : r.pass ? 'pass' : 'FAIL');
const fmtCpuCell = (r: Row) => {
  if (r.cpuUs === undefined || !Number.isFinite(r.cpuUs)) return '';
  const ratio = r.cpuRatio === undefined ? '' : `; ratio ${r.cpuRatio.toFixed(2)}${fmtSpread(r.cpuRatioIqr, (x) => x.toFixed(2))}`;
  const cpuUs = r.cpuUs;
  return `${fmtCpu(cpuUs)}${fmtSpread(r.cpuUsIqr, (x) => (cpuUs >= 1000 ? (x / 1000).toFixed(2) : x.toFixed(x >= 100 ? 0 : 1)))}${ratio}`;
};

/** A Markdown table (also readable in a terminal). Spreads are interquartile ranges over the rounds. */
export function table(rows: readonly Row[]): string {
  const head = [
    'case',
    'result (IQR)',
    'ratio vs unprotected (IQR)',
    'server CPU per op (IQR); CPU ratio (IQR)',
    'vs SDK baseline',
    'target',
    'pass/fail',
  ];
  const body = rows.map((r) => [
    r.case + (r.note ? ` (${r.note})` : ''),
    fmtValue(r),
    r.ratio === undefined ? '' : `${r.ratio.toFixed(2)}${fmtSpread(r.ratioIqr, (x) => x.toFixed(2))}`,
    fmtCpuCell(r),
    r.vsSdk === undefined ? '' : `${r.vsSdk.toFixed(2)}×`,
    r.target,
    fmtPass(r),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n');
}

export function machineLine(m: Machine): string {
  return `${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}, Node ${m.node}, ${m.date.slice(0, 16).replace('T', ' ')} UTC, load average ${m.loadavgStart[0]} at start${m.loadavgEnd ? ` / ${m.loadavgEnd[0]} at end` : ''}${m.pinning ? `; ${m.pinning}` : ''}`;
}
