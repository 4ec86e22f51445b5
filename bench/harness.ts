import { execFileSync, fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CpuProbe } from './load.js';
import type { ServerReady } from './server.js';

/** The repository root (bench/..). */
export const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Core pinning (util-linux `taskset`): the server gets the last core to itself, the load generator
 * (this process, autocannon, the sign-in "browsers" and the stub upstream) the others. Without
 * `taskset`, with a single core, or with `BENCH_NO_PIN=1`, nothing is pinned and the report says so.
 */
export interface Pinning {
  taskset: string;
  /** CPU list for the server process (`taskset -c`). */
  server: string;
  /** CPU list for the load generator. */
  load: string;
}

function detectPinning(): Pinning | undefined {
  if (process.env.BENCH_NO_PIN === '1') return undefined;
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  const taskset = ['/usr/bin/taskset', '/bin/taskset', '/usr/local/bin/taskset'].find((p) => existsSync(p));
  if (!taskset || cores < 2) return undefined;
  return { taskset, server: String(cores - 1), load: cores > 2 ? `0-${cores - 2}` : '0' };
}

/** The pinning in effect for this run (`undefined`: not pinned). */
export const pinning: Pinning | undefined = detectPinning();

/** Pins this process (all its threads) to the load generator's cores; a no-op without pinning. */
export function pinLoadGenerator(): void {
  if (!pinning) return;
  try {
    execFileSync(pinning.taskset, ['-a', '-p', '-c', pinning.load, String(process.pid)], { stdio: 'ignore' });
  } catch {
    // not permitted here (e.g. a restricted container): measure unpinned rather than fail
  }
}

/** One line for the report: how the cores were shared. */
export const pinningLine = (): string =>
  pinning
    ? `server pinned to CPU ${pinning.server}, load generator and stub upstream to CPU ${pinning.load} (taskset)`
    : 'not pinned (no taskset, one core, or BENCH_NO_PIN=1): the load generator shares the cores with the server';

/** Control of the bench server process (bench/server.ts), over its IPC channel. */
export interface BenchServer {
  ready: ServerReady;
  /** Cumulative CPU time (µs) the server process has used. */
  cpu: CpuProbe;
  /** Starts a CPU profile in the server (inspector, 200 µs sampling); resolves once it runs. */
  profileStart(): Promise<void>;
  /** Stops it and writes the `.cpuprofile` to `path`. */
  profileStop(path: string): Promise<void>;
  /** Asks the server to close everything (and delete its Redis keys); resolves with what it reported. */
  shutdown(): Promise<Record<string, unknown>>;
}

/** Options of {@link startServer}. */
export interface ServerOptions {
  /** Issuer of an upstream stub running elsewhere (e.g. in the load generator); default: the server starts its own. */
  upstream?: string;
  /** Extra environment for the server (e.g. `BENCH_PEERS=0`). */
  env?: Record<string, string>;
}

/** Forks bench/server.ts (through tsx, pinned with taskset when available) and waits until it listens. */
export function startServer(o: ServerOptions = {}): Promise<BenchServer> {
  const env = { ...process.env, ...(o.upstream ? { BENCH_UPSTREAM: o.upstream } : {}), ...o.env };
  const child = pinning
    ? fork(join(root, 'bench', 'server.ts'), [], {
        cwd: root,
        env,
        execPath: pinning.taskset,
        execArgv: ['-c', pinning.server, process.execPath, '--import', 'tsx'],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      })
    : fork(join(root, 'bench', 'server.ts'), [], {
        cwd: root,
        env,
        execArgv: ['--import', 'tsx'],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
  const info: Record<string, unknown> = {};
  const waiting = new Map<number, (micros: number) => void>();
  const once = new Map<string, (m: Record<string, unknown>) => void>();
  let nextId = 0;
  child.on('message', (m: { type?: string; id?: number; micros?: number }) => {
    if (m.type === 'cpu') {
      waiting.get(m.id!)?.(m.micros!);
      waiting.delete(m.id!);
    }
    if (m.type === 'cleaned' || m.type === 'closed') Object.assign(info, m);
    const waiter = m.type ? once.get(m.type) : undefined;
    if (waiter) {
      once.delete(m.type!);
      waiter(m as Record<string, unknown>);
    }
  });
  const exited = new Promise<Record<string, unknown>>((res) => child.on('exit', () => res(info)));
  const request = (msg: object, reply: string) =>
    new Promise<Record<string, unknown>>((res) => {
      once.set(reply, res);
      child.send(msg);
    });
  return new Promise((res, rej) => {
    child.once('exit', (code) => rej(new Error(`bench server exited (${code}) before it was ready`)));
    once.set('ready', (m) =>
      res({
        ready: m as unknown as ServerReady,
        cpu: () =>
          new Promise((r) => {
            const id = nextId++;
            waiting.set(id, r);
            child.send({ type: 'cpu', id });
          }),
        profileStart: async () => {
          await request({ type: 'profile-start' }, 'profile-started');
        },
        profileStop: async (path) => {
          const m = await request({ type: 'profile-stop', path }, 'profile-stopped');
          if (m.error) throw new Error(`profile failed: ${String(m.error)}`);
        },
        shutdown: () => {
          if (child.connected) child.send({ type: 'shutdown' });
          return exited;
        },
      }),
    );
  });
}
