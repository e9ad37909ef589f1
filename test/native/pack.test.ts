// What users install: the packed tarball. With its prebuild it loads the native pool, from `import` and
// from `require()` (require(esm), on every Node version `engines` allows). Without a prebuild and with no
// compiler, make or python on PATH, the install step exits 0 with one line saying so, and the pool falls
// back to JavaScript with the reason and one process warning; the same with --ignore-scripts.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
});
