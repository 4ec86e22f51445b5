/**
 * A redis-server of the test's own that keeps its data: append-only file with
 * `appendfsync always`, so every acknowledged write is on disk before the reply
 * and a SIGKILL (a crash) loses nothing. For tests that stop Redis and need the
 * same data back afterwards (startRedisServer in ./redis.ts restarts empty).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './idp.js';
import { waitFor } from './redis.js';

const HOST = '127.0.0.1';

export interface PersistentRedisServer {
  port: number;
  url: string;
  /** Kills the server with SIGKILL (a crash, no shutdown save); resolves once it has exited. */
  crash(): Promise<void>;
  /** Starts it again on the same port and directory: it reloads the append-only file. */
  restart(): Promise<void>;
  /** SIGSTOP: the process is frozen, its sockets stay open and nothing answers (an unreachable server). */
  pause(): void;
  /** SIGCONT after {@link pause}. */
  resume(): void;
  dispose(): Promise<void>;
}

const spawned = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of spawned) child.kill('SIGKILL');
});

function pings(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: HOST, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (chunk) => done(chunk.toString().startsWith('+PONG')));
  });
}

async function spawnRedis(port: number, dir: string): Promise<ChildProcess> {
  const args = ['--port', String(port), '--bind', HOST, '--dir', dir, '--save', '', '--appendonly', 'yes', '--appendfsync', 'always'];
  const child = spawn('redis-server', args, { stdio: 'ignore' });
  spawned.add(child);
  child.once('exit', () => spawned.delete(child));
  await waitFor(
    () => (child.exitCode === null ? pings(port) : Promise.reject(new Error(`redis-server on ${port} exited`))),
    `redis-server on ${port} answers`,
  );
  return child;
}

async function kill(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL'); // also ends a SIGSTOPped process
  await exited;
}

/** Spawns `redis-server --appendonly yes --appendfsync always` on a free loopback port. Call `dispose()` in afterAll. */
export async function startPersistentRedisServer(): Promise<PersistentRedisServer> {
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'mcp-oauth-redis-aof-'));
  let child: ChildProcess | undefined = await spawnRedis(port, dir);
  const signal = (sig: NodeJS.Signals) => {
    if (!child?.pid) throw new Error('redis-server is not running');
    process.kill(child.pid, sig);
  };
  return {
    port,
    url: `redis://${HOST}:${port}`,
    async crash() {
      await kill(child);
      child = undefined;
    },
    async restart() {
      await kill(child);
      child = await spawnRedis(port, dir);
    },
    pause: () => signal('SIGSTOP'),
    resume: () => signal('SIGCONT'),
    async dispose() {
      await kill(child);
      child = undefined;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
