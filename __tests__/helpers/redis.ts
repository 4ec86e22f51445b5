import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const HOST = '127.0.0.1';
const READY_TIMEOUT_MS = 15_000;
const POLL_MS = 50;

/** The shared Redis used by tests: `REDIS_URL` or the local default. */
export function redisUrl(): string {
  return process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
}

/** A per-run random key prefix, e.g. `t-3f9a1c2b:`, so runs never see each other's keys. */
export function uniquePrefix(): string {
  return `t-${randomBytes(6).toString('hex')}:`;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until `check()` is true, up to a bound. */
export async function waitFor(check: () => boolean | Promise<boolean>, what: string, timeoutMs = READY_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(POLL_MS);
  }
}

// Every process spawned here, killed on exit even if a test forgot to stop it.
const spawned = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of spawned) child.kill('SIGKILL');
});

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, HOST, () => server.close(() => resolve(true)));
  });
}

/** A free port in 20000-50000 whose cluster bus port (+10000) is free too. */
async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 30_000);
    if ((await canListen(port)) && (await canListen(port + 10_000))) return port;
  }
  throw new Error('no free port found');
}

/** Resolves true when a Redis on `port` answers PING. */
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

async function spawnRedis(port: number, dir: string, extra: string[] = []): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', HOST, '--save', '', '--appendonly', 'no', '--dir', dir, ...extra],
    { stdio: 'ignore' },
  );
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
  child.kill('SIGKILL');
  await exited;
}

/** A redis-server of the test's own, on a free loopback port. */
export interface RedisServer {
  port: number;
  url: string;
  /** Kills the server (an outage); resolves once it has exited. */
  stop(): Promise<void>;
  /** Starts it again on the same port (empty: no persistence). */
  restart(): Promise<void>;
}

/** Spawns `redis-server --port <free> --save '' --appendonly no` on 127.0.0.1. Call `stop()` in afterAll. */
export async function startRedisServer(): Promise<RedisServer & { dispose(): Promise<void> }> {
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'mcp-oauth-redis-'));
  let child: ChildProcess | undefined = await spawnRedis(port, dir);
  return {
    port,
    url: `redis://${HOST}:${port}`,
    async stop() {
      await kill(child);
      child = undefined;
    },
    async restart() {
      await kill(child);
      child = await spawnRedis(port, dir);
    },
    async dispose() {
      await kill(child);
      child = undefined;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A running three-master Redis Cluster on loopback. */
export interface RedisCluster {
  rootNodes: Array<{ url: string }>;
  ports: number[];
  stop(): Promise<void>;
}

/** Starts three `redis-server --cluster-enabled yes` nodes, creates the cluster and waits for `cluster_state:ok`. */
export async function startRedisCluster(): Promise<RedisCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'mcp-oauth-cluster-'));
  const children: ChildProcess[] = [];
  const stop = async () => {
    await Promise.all(children.map(kill));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const ports: number[] = [];
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      children.push(
        await spawnRedis(port, dir, [
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          join(dir, `nodes-${port}.conf`),
          '--cluster-node-timeout',
          '5000',
        ]),
      );
      ports.push(port);
    }
    await run('redis-cli', ['--cluster', 'create', ...ports.map((p) => `${HOST}:${p}`), '--cluster-replicas', '0', '--cluster-yes'], {
      timeout: 30_000,
    });
    for (const port of ports) {
      await waitFor(
        async () => (await run('redis-cli', ['-h', HOST, '-p', String(port), 'cluster', 'info'])).stdout.includes('cluster_state:ok'),
        `cluster node ${port} is ok`,
        30_000,
      );
    }
    return { rootNodes: ports.map((p) => ({ url: `redis://${HOST}:${p}` })), ports, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
