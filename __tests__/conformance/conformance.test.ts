import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import http, { type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { TestBrowser } from '../helpers/browser.js';
import { startExampleServer, type ExampleServer } from '../helpers/example-server.js';
import { authorizeUrl, exchangeCode, pkce, registerClient } from '../helpers/oauth-flow.js';

/**
 * The official MCP conformance suite (@modelcontextprotocol/conformance, server mode) against
 * `npm start` (examples/server.ts). The suite needs Node >= 22: it runs on the `node` devDependency's
 * binary. It cannot sign in through a consent page, so the test signs in with the test browser and
 * puts the access token on every request through a small forwarding proxy (Host and every other
 * header unchanged, so the DNS-rebinding scenario still reaches the demo with its foreign Host).
 *
 * baseline.json lists the expected failures, each with its reason. The test fails on a failure
 * that is not listed and on a listed one that now passes, so the baseline stays honest.
 */

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const NODE22 = join(root, 'node_modules', 'node', 'bin', 'node');
const CLI = join(root, 'node_modules', '@modelcontextprotocol', 'conformance', 'dist', 'index.js');
const run = promisify(execFile);

interface Baseline {
  /** scenario → the text its failure must contain, and why it is expected to fail. */
  server: Record<string, { expect: string; reason: string }>;
  /** What the run leaves out → why. */
  notRun: Record<string, string>;
}
const baseline = JSON.parse(readFileSync(join(root, '__tests__', 'conformance', 'baseline.json'), 'utf8')) as Baseline;

interface Check {
  id: string;
  status: string;
  errorMessage?: string;
}

/** Forwards every request to `target` as it came, plus `authorization: Bearer <token>` when it has none. */
async function startTokenInjector(target: URL, token: () => string): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = http.createServer((req, res) => {
    const headers = { ...req.headers };
    headers.authorization ??= `Bearer ${token()}`;
    const upstream = http.request({ host: '127.0.0.1', port: target.port, method: req.method, path: req.url, headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://localhost:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

describe('the official MCP conformance suite against npm start', () => {
  let example: ExampleServer;
  let injector: Awaited<ReturnType<typeof startTokenInjector>>;
  let token = '';
  let outDir: string;

  beforeAll(async () => {
    example = await startExampleServer();
    const issuer = `${example.base}/oauth`;
    const redirectUri = 'http://localhost:38124/callback';
    const client = await registerClient(issuer, {
      redirect_uris: [redirectUri],
      token_endpoint_auth_method: 'none',
      client_name: 'conformance',
    });
    const { challenge, verifier } = pkce();
    const { url } = await new TestBrowser().authorize(
      authorizeUrl(issuer, { clientId: client.client_id, redirectUri, challenge, resource: `${example.base}/mcp` }),
      { login: 'alice', stopAt: (u) => u.href.startsWith(redirectUri) },
    );
    const exchanged = await exchangeCode(issuer, {
      clientId: client.client_id,
      code: url.searchParams.get('code')!,
      verifier,
      redirectUri,
    });
    expect(exchanged.status).toBe(200);
    token = exchanged.body.access_token as string;
    injector = await startTokenInjector(new URL(example.base), () => token);
    outDir = mkdtempSync(join(tmpdir(), 'mcp-conformance-'));
  });

  afterAll(async () => {
    await injector?.close();
    example?.stop();
    if (outDir) rmSync(outDir, { recursive: true, force: true });
  });

  it('the injected token is what lets the suite in (without it the demo answers 401)', async () => {
    const init = {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: '{}',
    };
    expect((await fetch(`${example.base}/mcp`, init)).status).toBe(401);
    expect((await fetch(`${injector.url}/mcp`, init)).status).not.toBe(401);
  });

  it('every server scenario passes, except those in baseline.json (and every baselined one still fails)', async () => {
    expect(existsSync(NODE22)).toBe(true);
    const version = (await run(NODE22, ['--version'])).stdout.trim();
    expect(Number(version.slice(1).split('.')[0])).toBeGreaterThanOrEqual(22);

    // Exits non-zero when a scenario fails; the verdict is computed below from its result files.
    await run(NODE22, [CLI, 'server', '--url', `${injector.url}/mcp`, '--suite', 'all', '-o', outDir], {
      cwd: outDir,
      timeout: 150_000,
      maxBuffer: 16 * 1024 * 1024,
      env: { ...process.env, NODE_OPTIONS: '' },
    }).catch((err: { stdout?: string; code?: unknown }) => {
      if (typeof err.code !== 'number') throw err;
    });

    const results = new Map<string, Check[]>();
    for (const dir of readdirSync(outDir)) {
      const file = join(outDir, dir, 'checks.json');
      if (!existsSync(file)) continue;
      const scenario = dir.replace(/^server-/, '').replace(/-\d{4}-\d{2}-\d{2}T.*$/, '');
      results.set(scenario, JSON.parse(readFileSync(file, 'utf8')) as Check[]);
    }
    const failing = [...results]
      .filter(([, checks]) => checks.some((c) => c.status === 'FAILURE'))
      .map(([scenario]) => scenario)
      .sort();
    const passing = [...results.keys()].filter((s) => !failing.includes(s)).sort();
    const failures = (s: string) =>
      (results.get(s) ?? [])
        .filter((c) => c.status === 'FAILURE')
        .map((c) => c.errorMessage ?? c.id)
        .join('; ');

    // A failure not in the baseline, or in it but failing for another reason than the one written down.
    const unexpected = failing
      .filter((s) => !baseline.server[s] || !failures(s).includes(baseline.server[s].expect))
      .map((s) => `${s}: ${failures(s)}`);
    const stale = passing.filter((s) => s in baseline.server);
    const missing = Object.keys(baseline.server).filter((s) => !results.has(s));
    expect({ unexpected, stale, missing }).toEqual({ unexpected: [], stale: [], missing: [] });
    // The scenarios that test our layer ran and passed.
    expect(passing).toEqual(expect.arrayContaining(['server-initialize', 'ping', 'tools-list', 'dns-rebinding-protection']));
    for (const reason of [...Object.values(baseline.server).map((e) => e.reason), ...Object.values(baseline.notRun)])
      expect(reason.length).toBeGreaterThan(40);
  }, 180_000);
});
