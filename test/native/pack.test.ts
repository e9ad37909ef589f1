// What users install: the packed tarball. With its prebuild it loads the native pool, from `import` and
// from `require()` (require(esm), on every Node version `engines` allows). Without a prebuild and with no
// compiler, make or python on PATH, the install step exits 0 with one line saying so, and the pool falls
// back to JavaScript with the reason and one process warning; the same with --ignore-scripts.
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = new URL('../..', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'rangepool-pack-'));
const npmCli = realpathSync(execFileSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).trim());
const npm = (args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env) =>
  spawnSync(process.execPath, [npmCli, ...args], { cwd, encoding: 'utf8', env: { ...env, npm_config_loglevel: 'error' } });
const quiet = ['--prefer-offline', '--no-audit', '--no-fund'];
let tarball: { filename: string; files: { path: string }[] };

/** An app directory with the given tarball installed. */
function app(name: string, tgz: string, args: string[], env?: NodeJS.ProcessEnv): { dir: string; install: ReturnType<typeof npm> } {
  const at = join(dir, name);
  mkdirSync(at);
  writeFileSync(join(at, 'package.json'), JSON.stringify({ name, private: true }));
  return { dir: at, install: npm(['install', ...args, ...quiet, tgz], at, env) };
}

const probe = `
  const { BufferPool, release } = require('rangepool');
  const pool = new BufferPool();
  const buf = pool.tryAcquire(1000);
  new BufferPool();
  release(buf);
  console.log(JSON.stringify({ native: pool.native, reason: BufferPool.fallbackReason ?? null, length: buf.length }));`;

beforeAll(() => {
  const r = npm(['pack', '--json', '--ignore-scripts', '--pack-destination', dir], root);
  tarball = JSON.parse(r.stdout)[0];
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('npm pack', () => {
  it('ships the prebuilds and the build, not the sources of tests', () => {
    const files = tarball.files.map((f) => f.path);
    for (const arch of ['x64', 'arm64']) for (const libc of ['glibc', 'musl']) expect(files).toContain(`prebuilds/linux-${arch}/rangepool.${libc}.node`);
    expect(files).toContain('dist/index.js');
    expect(files).toContain('scripts/install.cjs');
    expect(files).toContain('LICENSE');
    expect(files.some((f) => f.startsWith('test/') || f.startsWith('testing/') || f.startsWith('bench/'))).toBe(false);
  });

  it('installs without scripts and loads the native pool, from import and from require()', () => {
    const { dir: at, install } = app('with-prebuild', join(dir, tarball.filename), ['--ignore-scripts']);
    expect(install.status).toBe(0);
    const viaRequire = execFileSync(process.execPath, ['-e', probe], { cwd: at, encoding: 'utf8' });
    expect(JSON.parse(viaRequire)).toEqual({ native: true, reason: null, length: 0 });
    const viaImport = execFileSync(process.execPath, ['--input-type=module', '-e', `import { BufferPool } from 'rangepool'; console.log(new BufferPool().native)`], { cwd: at, encoding: 'utf8' });
    expect(viaImport.trim()).toBe('true');

    // What a user sees of the package: its CLI's own version, its metadata, source maps that resolve.
    const installed = join(at, 'node_modules', 'rangepool');
    const pkg = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8'));
    expect(execFileSync(join(at, 'node_modules', '.bin', 'rangepool'), ['--version'], { cwd: at, encoding: 'utf8' }).trim()).toBe(pkg.version);
    expect(pkg).toMatchObject({ license: 'Apache-2.0', type: 'module', engines: { node: expect.any(String) }, keywords: expect.arrayContaining(['s3']) });
    const maps = tarball.files.map((f) => f.path).filter((f) => f.endsWith('.js.map'));
    expect(maps.length).toBeGreaterThan(10);
    for (const map of maps) {
      const { sources, sourcesContent } = JSON.parse(readFileSync(join(installed, map), 'utf8'));
      expect(sourcesContent, map).toHaveLength(sources.length); // inlined: src/ is not shipped
      for (const text of sourcesContent) expect(typeof text).toBe('string');
    }
  });

  it('without a prebuild and without a compiler, installs (exit 0, one line) and falls back to JavaScript, saying why', () => {
    // The tarball again, without prebuilds/.
    const unpacked = join(dir, 'unpacked');
    mkdirSync(unpacked);
    execFileSync('tar', ['-xzf', join(dir, tarball.filename), '-C', unpacked]);
    rmSync(join(unpacked, 'package', 'prebuilds'), { recursive: true });
    const bare = JSON.parse(npm(['pack', '--json', '--ignore-scripts', '--pack-destination', unpacked], join(unpacked, 'package')).stdout)[0].filename;
    // A PATH with node, npm and sh only: no python, make or C++ compiler.
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    symlinkSync(process.execPath, join(bin, 'node'));
    symlinkSync(npmCli, join(bin, 'npm'));
    symlinkSync('/bin/sh', join(bin, 'sh'));
    const env = { ...process.env, PATH: bin };
    for (const [name, args] of [['scripts', ['--foreground-scripts']], ['ignore-scripts', ['--ignore-scripts']]] as const) {
      const { dir: at, install } = app(`no-prebuild-${name}`, join(unpacked, bare), [...args], env);
      expect(install.status).toBe(0);
      if (name === 'scripts') {
        // npm 11 holds back dependencies' install scripts until approved: rebuild runs the install step itself.
        const rebuilt = npm(['rebuild', 'rangepool', '--foreground-scripts'], at, env);
        expect(rebuilt.status).toBe(0);
        expect(rebuilt.stderr + rebuilt.stdout).toMatch(/rangepool: no prebuilt addon for .*could not be compiled .*JavaScript pool is used instead.*npm rebuild rangepool/);
      }
      const run = spawnSync(process.execPath, ['-e', probe], { cwd: at, encoding: 'utf8', env });
      expect(JSON.parse(run.stdout)).toMatchObject({ native: false, reason: expect.stringContaining('native addon did not load'), length: 0 });
      expect(run.stderr.match(/RANGEPOOL_NATIVE_UNAVAILABLE/g)).toHaveLength(1); // one warning, not one per pool
    }
  });

  it('as a new user meets it (no SDK installed): errors keep their identity under tsx in a CommonJS app, missing SDK packages are named at once, bench is not offered, and strict TypeScript compiles against the types', async () => {
    const { dir: at, install } = app('first-hour', join(dir, tarball.filename), ['--ignore-scripts']);
    expect(install.status).toBe(0);
    // A 404 from a plain URL: the url store is loaded by dynamic import, which tsx in a CommonJS app
    // resolves to a second copy of errors.ts; the error must still be the caller's RangepoolError.
    const server = createServer((_req, res) => res.writeHead(404).end()).listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    try {
      const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/missing`;
      writeFileSync(
        join(at, 'app.ts'),
        `import { get, RangepoolError, isRangepoolError } from 'rangepool';
         get(${JSON.stringify(url)}).catch((e: unknown) => console.log(JSON.stringify({ code: (e as RangepoolError).code, instance: e instanceof RangepoolError, is: isRangepoolError(e, 'NotFound') })));`,
      );
      // Not spawnSync: this process answers the request meanwhile.
      const tsx = await promisify(execFile)(process.execPath, [join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs'), 'app.ts'], { cwd: at, encoding: 'utf8' });
      expect(JSON.parse(tsx.stdout)).toEqual({ code: 'NotFound', instance: true, is: true });
    } finally {
      server.close();
    }
    const cli = join(at, 'node_modules', '.bin', 'rangepool');
    const help = spawnSync(cli, ['--help'], { cwd: at, encoding: 'utf8' });
    expect(help.stdout).toMatch(/\bget\b/);
    expect(help.stdout).not.toMatch(/\bbench\b/);
    const s3 = spawnSync(cli, ['stat', 's3://bucket/key'], { cwd: at, encoding: 'utf8', env: { ...process.env, AWS_ENDPOINT_URL: 'http://127.0.0.1:9' } });
    expect(s3.stderr).toMatch(/npm install @aws-sdk\/client-s3 @aws-sdk\/s3-request-presigner @smithy\/node-http-handler/);
    // Strict, exactOptionalPropertyTypes, no skipLibCheck, and none of the cloud SDKs installed.
    writeFileSync(
      join(at, 'typed.ts'),
      `import { get, download, stream, getMany, type GetOptions } from 'rangepool';
       declare const signal: AbortSignal | undefined;
       declare const partSize: number | undefined;
       const opts: GetOptions = { signal, partSize, concurrency: undefined, onProgress: undefined };
       export async function main(): Promise<void> {
         await get('s3://b/k', opts);
         await download('s3://b/k', 'k', { signal, resume: true });
         for await (const c of stream('s3://b/k', { signal, partSize })) void c;
         for await (const r of getMany('s3://b/', { signal, to: 'out', filter: (e) => e.relative.endsWith('.bin') })) void r;
       }`,
    );
    writeFileSync(join(at, 'tsconfig.json'), JSON.stringify({ compilerOptions: { strict: true, exactOptionalPropertyTypes: true, skipLibCheck: false, noEmit: true, module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', types: ['node'], typeRoots: [join(root, 'node_modules', '@types')] }, files: ['typed.ts'] }));
    const tsc = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], { cwd: at, encoding: 'utf8' });
    expect(tsc.stdout + tsc.stderr).toBe('');
    expect(tsc.status).toBe(0);
    // The subpaths resolve under the older moduleResolution (node10), which reads typesVersions, not exports.
    writeFileSync(join(at, 'legacy.ts'), `import { get } from 'rangepool';\nimport { asyncBuffer } from 'rangepool/parquet';\nimport { SafetensorsFile } from 'rangepool/safetensors';\nexport const used = [get, asyncBuffer, SafetensorsFile];\n`);
    writeFileSync(join(at, 'tsconfig.legacy.json'), JSON.stringify({ compilerOptions: { strict: true, skipLibCheck: true, noEmit: true, module: 'commonjs', moduleResolution: 'node10', ignoreDeprecations: '5.0', target: 'ES2022', types: ['node'], typeRoots: [join(root, 'node_modules', '@types')] }, files: ['legacy.ts'] }));
    const legacy = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.legacy.json'], { cwd: at, encoding: 'utf8' });
    expect(legacy.stdout + legacy.stderr).toBe('');
    expect(legacy.status).toBe(0);
  });
});
