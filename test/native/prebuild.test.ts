// The committed prebuilds must be built from the committed native sources, must be what loads, and the
// Linux ones must need nothing but libc, and glibc no newer than 2.17 (loaders.test.ts has them loaded).
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const root = new URL('../..', import.meta.url).pathname;
const { embedsHash, nativeSourceHash } = require('../../scripts/native-hash.cjs');
const expected: string = nativeSourceHash();

const shipped = readdirSync(`${root}prebuilds`).flatMap((dir) => readdirSync(`${root}prebuilds/${dir}`).map((f) => `prebuilds/${dir}/${f}`));
const linux = shipped.filter((f) => f.startsWith('prebuilds/linux-'));
const binutils = spawnSync('objdump', ['--version']).status === 0 && spawnSync('readelf', ['--version']).status === 0;

describe('prebuilds', () => {
  it('linux x64 and arm64 ship for glibc and for musl', () => {
    for (const arch of ['x64', 'arm64']) for (const libc of ['glibc', 'musl']) expect(shipped).toContain(`prebuilds/linux-${arch}/rangepool.${libc}.node`);
  });

  it.each(shipped)('%s embeds the hash of native/ and binding.gyp (else: npm run prebuildify)', (file) => {
    expect(embedsHash(`${root}${file}`, expected)).toBe(true);
  });

  it('the one for this platform loads and says the same hash', () => {
    const mine = shipped.find((f) => f.startsWith(`prebuilds/${process.platform}-${process.arch}/`) && !f.includes('.musl.'));
    expect(mine).toBeDefined();
    expect(require(`${root}${mine}`).sourceHash).toBe(expected);
  });

  it('with PREBUILDS_ONLY=1 the package loads the prebuild and uses the native pool', () => {
    const out = execFileSync(
      process.execPath,
      ['--input-type=module', '-e', "const m = await import('rangepool'); console.log(JSON.stringify({ native: new m.BufferPool().native, reason: m.BufferPool.fallbackReason }))"],
      { cwd: root, env: { ...process.env, PREBUILDS_ONLY: '1' }, encoding: 'utf8' },
    );
    expect(JSON.parse(out)).toEqual({ native: true });
  });

  it('whatever binary node-gyp-build picks here (a local build/ wins) matches the sources too', () => {
    const binding = require('node-gyp-build')(root);
    expect(binding.sourceHash).toBe(expected);
  });
});

describe.skipIf(!binutils)('the Linux prebuilds need only libc, and glibc no newer than 2.17 (objdump -T, readelf)', () => {
  const tool = (cmd: string, ...args: string[]) => execFileSync(cmd, args, { encoding: 'utf8' });

  it.each(linux)('%s', (file) => {
    const path = `${root}${file}`;
    const machine = /Machine:\s*(.*)/.exec(tool('readelf', '-h', path))?.[1]?.trim();
    expect(machine).toBe(file.includes('-arm64/') ? 'AArch64' : 'Advanced Micro Devices X86-64');

    // No libstdc++ or libgcc_s: the C++ runtime is linked in, so old and musl systems need none.
    const needed = [...tool('readelf', '-d', path).matchAll(/\(NEEDED\).*\[(.*)\]/g)].map((m) => m[1]);
    const allowed = file.includes('.musl.') ? ['libc.so'] : ['libc.so.6', 'libm.so.6', 'libpthread.so.0', 'libdl.so.2'];
    expect(needed.length).toBeGreaterThan(0);
    for (const lib of needed) expect(allowed).toContain(lib);

    const dynamic = tool('objdump', '-T', path);
    // Every versioned reference is glibc's, and none newer than 2.17 (the musl ones have no versions).
    const versions = [...dynamic.matchAll(/\b([A-Z]+)_(\d+(?:\.\d+)*)\b/g)].map((m) => ({ lib: m[1], version: m[2]!.split('.').map(Number) }));
    if (file.includes('.musl.')) expect(versions).toEqual([]);
    else expect(versions.length).toBeGreaterThan(0);
    for (const { lib, version } of versions) {
      expect(lib).toBe('GLIBC');
      expect(version[0]! * 1000 + (version[1] ?? 0)).toBeLessThanOrEqual(2017);
    }

    // Exported: Node-API's entry points and nothing else (native/exports.map).
    const exported = dynamic
      .split('\n')
      .filter((l) => /\s(DF|DO)\s/.test(l) && !l.includes('*UND*'))
      .map((l) => l.trim().split(/\s+/).at(-1));
    expect(exported.sort()).toEqual(['napi_register_module_v1', 'node_api_module_get_api_version_v1']);
  });
});
