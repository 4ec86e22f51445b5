/**
 * `--compare <results.json>`: the change of every figure against an earlier run.
 *
 *   npm run bench -- --compare old.json         # run, then compare with old.json
 *   npx tsx bench/compare.ts old.json new.json  # compare two saved runs, nothing is run
 *
 * Rows are matched by their stable `id` (older files without ids: by their label). For each
 * row: the result, the ratio to the unprotected route and the server CPU per operation, before
 * → after, with the change in percent, and whether the change is larger than the spread of the
 * two runs (`~` = within the spread: not a change one can steer by).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { fmtCpu, type Row } from './report.js';

interface Results {
  rows: Array<Partial<Row> & { case: string; value: number }>;
  machine?: { date?: string; loadavgStart?: number[] };
}

const pct = (a: number, b: number) => (a === 0 ? '' : `${b >= a ? '+' : ''}${(((b - a) / a) * 100).toFixed(1)}%`);
const overlaps = (a?: [number, number], b?: [number, number]) => !!a && !!b && a[0] <= b[1] && b[0] <= a[1];

export function loadResults(path: string): Results {
  const r = JSON.parse(readFileSync(path, 'utf8')) as Results;
  if (!Array.isArray(r.rows)) throw new Error(`${path}: not a bench results file (no "rows")`);
  return r;
}

/** A Markdown table of before → after for every row both runs have, then the rows only one has. */
export function compare(before: Results, after: Results): string {
  const key = (r: Partial<Row> & { case: string }) => r.id ?? r.case;
  const old = new Map(before.rows.map((r) => [key(r), r]));
  for (const r of before.rows) if (!old.has(r.case)) old.set(r.case, r); // files from before ids existed: by label
  const lines = [
    '| case | result before → after | change | ratio before → after | server CPU/op before → after | change |',
    '|---|---|---|---|---|---|',
  ];
  for (const n of after.rows) {
    const o = old.get(key(n)) ?? old.get(n.case);
    if (!o) continue;
    const noisy = (a?: [number, number], b?: [number, number]) => (overlaps(a, b) ? ' ~' : '');
    const ratio =
      o.ratio !== undefined && n.ratio !== undefined ? `${o.ratio.toFixed(2)} → ${n.ratio.toFixed(2)}${noisy(o.ratioIqr, n.ratioIqr)}` : '';
    const cpu =
      o.cpuUs !== undefined && n.cpuUs !== undefined && Number.isFinite(o.cpuUs) && Number.isFinite(n.cpuUs)
        ? [`${fmtCpu(o.cpuUs)} → ${fmtCpu(n.cpuUs)}`, `${pct(o.cpuUs, n.cpuUs)}${noisy(o.cpuUsIqr, n.cpuUsIqr)}`]
        : ['', ''];
    lines.push(
      `| ${n.case} | ${Math.round(o.value).toLocaleString('en-US')} → ${Math.round(n.value).toLocaleString('en-US')} ${n.unit ?? ''} | ${pct(o.value, n.value)}${noisy(o.spread, n.spread)} | ${ratio} | ${cpu[0]} | ${cpu[1]} |`,
    );
  }
  const now = new Set(after.rows.flatMap((r) => [key(r), r.case]));
  const added = after.rows.filter((r) => !old.has(key(r)) && !old.has(r.case)).map((r) => r.case);
  const gone = before.rows.filter((r) => !now.has(key(r)) && !now.has(r.case)).map((r) => r.case);
  if (added.length) lines.push('', `Only in this run: ${added.join('; ')}`);
  if (gone.length) lines.push('', `Only in the earlier run: ${gone.join('; ')}`);
  lines.push('', "`~`: the two runs' interquartile ranges overlap, so the change is within the noise.");
  return lines.join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [a, b] = process.argv.slice(2);
  if (!a || !b) {
    console.error('usage: npx tsx bench/compare.ts <earlier results.json> <later results.json>');
    process.exit(2);
  }
  const before = loadResults(a);
  const after = loadResults(b);
  console.log(`${a} (${before.machine?.date ?? '?'}) → ${b} (${after.machine?.date ?? '?'})\n`);
  console.log(compare(before, after));
}
