import { describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Proves `npm run bench` works end to end, in its tiny `--quick` form (1 s per
 * run, 4 connections, 100 sessions), against real loopback servers and the
 * shared Redis. Benchmarks are not tests: nothing here asserts on speed, only
 * that every row was measured (positive numbers, no failed request) and that
 * the MemoryStore bound and expiry checks hold.
 */
interface Row {
  case: string;
  value: number;
  unit: string;
  ratio?: number;
  pass?: boolean;
  note?: string;
}
interface Results {
  machine: { cpu: string; cores: number; node: string; date: string };
  rows: Row[];
  table: string;
  memory: { keysPerSignIn: { same: boolean } };
  server: { redisKeysDeleted?: number };
}

function runQuickBench(out: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env = { ...process.env };
  delete env.NODE_OPTIONS; // jest's --experimental-vm-modules is not for the bench
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--quick', '--out', out], { cwd: process.cwd(), env });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
}

describe('npm run bench (--quick)', () => {
  it('measures every case and writes results.json with every row positive', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bench-smoke-'));
    try {
      const out = join(dir, 'results.json');
      const run = await runQuickBench(out);
      expect({ code: run.code, stderr: run.code === 0 ? '' : run.stderr }).toEqual({ code: 0, stderr: '' });
      const results = JSON.parse(await readFile(out, 'utf8')) as Results;

      expect(results.machine.cpu.length).toBeGreaterThan(0);
      expect(results.machine.cores).toBeGreaterThan(0);
      expect(results.machine.node).toBe(process.version);
      expect(Number.isNaN(Date.parse(results.machine.date))).toBe(false);

      const labels = results.rows.map((r) => r.case);
      for (const expected of [
        /^unprotected/,
        /^requireSession\(\) — MemoryStore/,
        /^requireSession\(\) — RedisStore/,
        /vault read — MemoryStore/,
        /vault read — RedisStore/,
        /^SDK requireBearerAuth/,
        /sign-ins .* — MemoryStore/,
        /sign-ins .* — RedisStore/,
        /^memory: 100 live sessions/,
        /^bound:/,
        /^expiry:/,
        /^verified-token cache/,
        /^soak: .* — RedisStore/,
        /^soak: .* — MemoryStore/,
      ])
        expect(labels.some((l) => expected.test(l))).toBe(true);

      for (const row of results.rows) {
        if (row.case.startsWith('expiry:')) continue; // its value is the number of entries left: 0
        expect({ case: row.case, positive: Number.isFinite(row.value) && row.value > 0 }).toEqual({ case: row.case, positive: true });
        if (row.unit === 'req/s')
          expect({ case: row.case, ratio: row.ratio! > 0, note: row.note }).toEqual({ case: row.case, ratio: true, note: undefined });
      }
      const bound = results.rows.find((r) => r.case.startsWith('bound:'))!;
      expect(bound.value).toBeLessThanOrEqual(100);
      const expiry = results.rows.find((r) => r.case.startsWith('expiry:'))!;
      expect(expiry.value).toBe(0);
      expect(results.memory.keysPerSignIn.same).toBe(true);
      // The soak (a few seconds here): every legitimate request succeeded on both stores.
      for (const row of results.rows.filter((r) => r.case.startsWith('soak:')))
        expect({ case: row.case, note: row.note?.split(';')[0] }).toEqual({
          case: row.case,
          note: expect.stringMatching(/^0 failed of [1-9]\d* legitimate requests$/),
        });
      expect(results.server.redisKeysDeleted).toBeGreaterThan(0);
      expect(run.stdout).toContain(results.table);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 360_000); // a guard, not a speed check: the quick run (two 5 s soaks, refresh, growth, fastmcp) takes 1–2 minutes on the shared machine
});
