import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

/**
 * Our published types compose: a consumer project (one on the SDK v2 packages, one on SDK v1)
 * type-checks with skipLibCheck: false, strict, against our emitted .d.ts, with a node_modules
 * that holds only what a user installs: our declared dependencies and peer dependencies, the SDK
 * of that generation, @types/express and @types/node, and what those depend on. Nothing of our
 * devDependencies: a declaration that needs one of them fails here (TS7016), as it would for users.
 */
const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../..');
let work: string;

/** `name` and everything it depends on (dependencies, peer and optional dependencies that are installed), from the hoisted node_modules. */
async function closure(names: string[]): Promise<Set<string>> {
  const seen = new Set<string>();
  const todo = [...names];
  while (todo.length) {
    const name = todo.pop()!;
    if (seen.has(name)) continue;
    const pkgFile = path.join(root, 'node_modules', name, 'package.json');
    if (!existsSync(pkgFile)) continue; // an optional peer that is not installed
    seen.add(name);
    const pkg = JSON.parse(await readFile(pkgFile, 'utf8'));
    todo.push(...Object.keys({ ...pkg.dependencies, ...pkg.peerDependencies, ...pkg.optionalDependencies }));
  }
  return seen;
}

async function consumer(name: string, sdk: string[]): Promise<string> {
  const dir = path.join(work, name);
  await mkdir(path.join(dir, 'node_modules'), { recursive: true });
  const ours = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8'));
  const installed = await closure([
    ...Object.keys(ours.dependencies),
    ...Object.keys(ours.peerDependencies),
    '@types/express',
    '@types/node',
    ...sdk,
  ]);
  for (const n of installed) {
    await mkdir(path.dirname(path.join(dir, 'node_modules', n)), { recursive: true });
    await symlink(path.join(root, 'node_modules', n), path.join(dir, 'node_modules', n), 'dir');
  }
  // The package as published: package.json plus the emitted declarations.
  const pkgDir = path.join(dir, 'node_modules', 'mcp-oauth-proxy');
  await mkdir(pkgDir, { recursive: true });
  await writeFile(path.join(pkgDir, 'package.json'), JSON.stringify(ours));
  await cp(path.join(work, 'dist'), path.join(pkgDir, 'dist'), { recursive: true });
  await cp(path.join(import.meta.dirname, name, 'index.ts'), path.join(dir, 'index.ts'));
  await writeFile(path.join(dir, 'package.json'), JSON.stringify({ name, type: 'module', private: true }));
  await writeFile(
    path.join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        skipLibCheck: false,
        noEmit: true,
        types: ['node'],
      },
      files: ['index.ts'],
    }),
  );
  return dir;
}

async function typecheck(dir: string): Promise<string> {
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  try {
    await run(process.execPath, [tsc, '-p', dir], { cwd: dir, maxBuffer: 1 << 24 });
    return '';
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    return `${e.stdout ?? ''}${e.stderr ?? ''}`.trim() || String(err);
  }
}

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'mop-types-'));
  // Our declarations, emitted from the sources (so `npm test` needs no prior build).
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  await run(
    process.execPath,
    [
      tsc,
      '-p',
      path.join(root, 'tsconfig.build.json'),
      '--emitDeclarationOnly',
      '--declarationMap',
      'false',
      '--sourceMap',
      'false',
      '--outDir',
      path.join(work, 'dist'),
    ],
    { cwd: root, maxBuffer: 1 << 24 },
  );
}, 600_000);
afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('a consumer project, skipLibCheck: false', () => {
  it('on @modelcontextprotocol/server, /express and /node 2.x (createMcpExpressApp, ctx.http.authInfo)', async () => {
    const dir = await consumer('consumer-v2', [
      '@modelcontextprotocol/server',
      '@modelcontextprotocol/express',
      '@modelcontextprotocol/node',
    ]);
    expect(await typecheck(dir)).toBe('');
  }, 600_000);

  it('on @modelcontextprotocol/sdk 1.x (extra.authInfo, its requireBearerAuth augmentation loaded)', async () => {
    const dir = await consumer('consumer-v1', ['@modelcontextprotocol/sdk']);
    expect(await typecheck(dir)).toBe('');
  }, 600_000);
});
