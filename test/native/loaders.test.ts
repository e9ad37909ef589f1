// The Linux prebuilds, loaded by the C libraries they claim: glibc 2.17 (x64, and arm64 under qemu-user)
// and musl (x64). No Node for those can be had here, so a C host stands in for it (test/support/
// dlopen-host.ts): dlopen() with RTLD_NOW by that C library's own loader binds every symbol and version
// the addon needs and runs its static constructors. Each check needs its toolchain; without it the
// test's name says what is missing, and it is skipped.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LOADED, glibc217Toolchain, hostSource, noQemuArm64 } from '../support/dlopen-host.js';

const root = new URL('../..', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'rangepool-loaders-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const works = (cmd: string) => spawnSync(cmd, ['--version']).status === 0;
const linuxX64 = process.platform === 'linux' && process.arch === 'x64';
const skip = (why: string | false) => (why ? ` (skipped: ${why})` : '');

/** Builds the host for `addon` with `cc` and runs it (through `run`, a loader, when given). */
function load(addon: string, cc: string[], run: string[] = [], env: NodeJS.ProcessEnv = process.env): SpawnSyncReturns<string> {
  const name = join(dir, addon.replace(/\W/g, '_'));
  writeFileSync(`${name}.c`, hostSource(addon));
  const built = spawnSync(cc[0]!, [...cc.slice(1), '-rdynamic', '-o', name, `${name}.c`, '-ldl'], { encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`${cc[0]} failed: ${built.stderr}`);
  const [cmd, ...args] = [...run, name, addon];
  return spawnSync(cmd!, args, { encoding: 'utf8', env });
}

describe('the Linux prebuilds load on the C libraries they claim', () => {
  const noGlibcTools = !linuxX64 ? 'not a linux-x64 host' : !works('nm') && 'apt-get install binutils';

  it.skipIf(noGlibcTools)(`linux-x64 glibc on glibc 2.17's own loader${skip(noGlibcTools)}`, () => {
    const { gcc, sysroot } = glibc217Toolchain(root, 'x86_64');
    const libs = `${sysroot}/lib:${sysroot}/usr/lib`;
    const r = load(`${root}prebuilds/linux-x64/rangepool.glibc.node`, [gcc], [`${sysroot}/lib/ld-linux-x86-64.so.2`, '--library-path', libs]);
    expect(r.stdout + r.stderr).toBe(LOADED);
  });

  const noArm = noGlibcTools || noQemuArm64();
  it.skipIf(noArm)(`linux-arm64 glibc on glibc 2.17's own loader, under qemu-user${skip(noArm)}`, () => {
    const { gcc, sysroot } = glibc217Toolchain(root, 'aarch64');
    const r = load(`${root}prebuilds/linux-arm64/rangepool.glibc.node`, [gcc], [], { ...process.env, QEMU_LD_PREFIX: sysroot });
    expect(r.stdout + r.stderr).toBe(LOADED);
  });

  const noMusl = !linuxX64 ? 'not a linux-x64 host' : (!works('musl-gcc') || !works('nm')) && 'apt-get install musl-tools binutils';
  it.skipIf(noMusl)(`linux-x64 musl on musl's own loader${skip(noMusl)}`, () => {
    const r = load(`${root}prebuilds/linux-x64/rangepool.musl.node`, ['musl-gcc']);
    expect(r.stdout + r.stderr).toBe(LOADED);
  });
});
