import { fork } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CpuProbe } from './load.js';
import type { ServerReady } from './server.js';

/** The repository root (bench/..). */
export const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

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

/** Forks bench/server.ts (through tsx) and waits until it listens. */
export function startServer(): Promise<BenchServer> {
  const child = fork(join(root, 'bench', 'server.ts'), [], { cwd: root, execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const info: Record<string, unknown> = {};
  const waiting = new Map<number, (micros: number) => void>();
  const once = new Map<string, (m: Record<string, unknown>) => void>();
  let nextId = 0;
  child.on('message', (m: { type?: string; id?: number; micros?: number }) => {
    if (m.type === 'cpu') { waiting.get(m.id!)?.(m.micros!); waiting.delete(m.id!); }
    if (m.type === 'cleaned' || m.type === 'closed') Object.assign(info, m);
    const waiter = m.type ? once.get(m.type) : undefined;
    if (waiter) { once.delete(m.type!); waiter(m as Record<string, unknown>); }
  });
  const exited = new Promise<Record<string, unknown>>((res) => child.on('exit', () => res(info)));
  const request = (msg: object, reply: string) => new Promise<Record<string, unknown>>((res) => { once.set(reply, res); child.send(msg); });
  return new Promise((res, rej) => {
    child.once('exit', (code) => rej(new Error(`bench server exited (${code}) before it was ready`)));
    once.set('ready', (m) => res({
      ready: m as unknown as ServerReady,
      cpu: () => new Promise((r) => { const id = nextId++; waiting.set(id, r); child.send({ type: 'cpu', id }); }),
      profileStart: async () => { await request({ type: 'profile-start' }, 'profile-started'); },
      profileStop: async (path) => {
        const m = await request({ type: 'profile-stop', path }, 'profile-stopped');
        if (m.error) throw new Error(`profile failed: ${String(m.error)}`);
      },
      shutdown: () => { if (child.connected) child.send({ type: 'shutdown' }); return exited; },
    }));
  });
}
