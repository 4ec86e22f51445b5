/**
 * `npm start` (examples/server.ts), or another example script, in a child process on a free port pair, as a user runs it.
 * Resolves once `/ready` answers 200; `output()` is everything it printed so far.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from './idp.js';

export interface ExampleServer {
  /** `http://localhost:<port>` */
  base: string;
  child: ChildProcess;
  output(): string;
  stop(): void;
}

export async function startExampleServer(env: Record<string, string> = {}, script = 'examples/server.ts'): Promise<ExampleServer> {
  const [port, idpPort, erpIdpPort] = [await freePort(), await freePort(), await freePort()];
  const base = `http://localhost:${port}`;
  let output = '';
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    env: {
      ...process.env,
      PORT: String(port),
      IDP_PORT: String(idpPort),
      CRM_IDP_PORT: String(idpPort),
      ERP_IDP_PORT: String(erpIdpPort),
      NODE_OPTIONS: '',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const collect = (d: Buffer) => {
    output += d.toString();
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const server: ExampleServer = { base, child, output: () => output, stop: () => void child.kill() };
  for (let i = 0; i < 900; i++) {
    // up to 90 s: CI machines are shared
    const ok = await fetch(`${base}/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return server;
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill();
  throw new Error(`example did not become ready:\n${output}`);
}
