import os from 'node:os';

/** One row of the printed table and of results.json. */
export interface Row {
  case: string;
  /** req/s, sign-ins/s, or bytes per session (see `unit`). */
  value: number;
  unit: 'req/s' | 'sign-ins/s' | 'B/session' | 'B/entry' | 'entries' | 'ms';
  /** Ratio to the unprotected route in the same run (throughput rows). */
  ratio?: number;
  /** Interquartile range of the per-round ratios. */
  ratioIqr?: [number, number];
  /** Server CPU time per request, µs (median of runs), and the unprotected route's divided by it. */
  cpuUs?: number;
  cpuRatio?: number;
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

const fmtValue = (r: Row) => `${Math.round(r.value).toLocaleString('en-US')} ${r.unit}`;
const fmtPass = (r: Row) => (r.pass === undefined ? '' : r.pass ? 'pass' : 'FAIL');

/** A Markdown table (also readable in a terminal). */
export function table(rows: readonly Row[]): string {
  const head = ['case', 'result', 'ratio vs unprotected (IQR)', 'server CPU/req (ratio)', 'vs SDK baseline', 'target', 'pass/fail'];
  const body = rows.map((r) => [
    r.case + (r.note ? ` (${r.note})` : ''),
    fmtValue(r),
    r.ratio === undefined ? '' : `${r.ratio.toFixed(2)}${r.ratioIqr ? ` (${r.ratioIqr[0].toFixed(2)}–${r.ratioIqr[1].toFixed(2)})` : ''}`,
    r.cpuUs === undefined || !Number.isFinite(r.cpuUs) ? '' : `${r.cpuUs.toFixed(0)} µs (${r.cpuRatio!.toFixed(2)})`,
    r.vsSdk === undefined ? '' : `${r.vsSdk.toFixed(2)}×`,
    r.target,
    fmtPass(r),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n');
}

export function machineLine(m: Machine): string {
  return `${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}, Node ${m.node}, ${m.date.slice(0, 16).replace('T', ' ')} UTC, load average ${m.loadavgStart[0]} at start${m.loadavgEnd ? ` / ${m.loadavgEnd[0]} at end` : ''}`;
}
