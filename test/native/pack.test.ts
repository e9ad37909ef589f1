// What users install: the packed tarball, installed with scripts disabled (npm 12 and pnpm 10 block
// dependency install scripts), must import and use the native pool from its prebuild.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = new URL('../..', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'rangepool-pack-'));
const npm = (args: string[], cwd: string) =>
  execFileSync('npm', args, { cwd, encoding: 'utf8', env: { ...process.env, npm_config_loglevel: 'error' } });

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('npm pack', () => {
  it('installs without scripts and loads the native pool', () => {
    const tarball = JSON.parse(npm(['pack', '--json', '--ignore-scripts', '--pack-destination', dir], root))[0];
    const files: string[] = tarball.files.map((f: { path: string }) => f.path);
    expect(files).toContain(`prebuilds/${process.platform}-${process.arch}/rangepool.node`);
    expect(files).toContain('dist/index.js');
    expect(files.some((f) => f.startsWith('test/') || f.startsWith('src/'))).toBe(false);

    const app = join(dir, 'app');
    execFileSync('mkdir', ['-p', app]);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    npm(['install', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund', join(dir, tarball.filename)], app);
    const script = `
      import { BufferPool, release } from 'rangepool';
      const pool = new BufferPool();
      const buf = await pool.acquire(1000);
      release(buf);
      console.log(JSON.stringify({ native: pool.native, length: buf.length }));`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: app, encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual({ native: true, length: 0 });
  });
});
