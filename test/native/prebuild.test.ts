// The committed prebuilds must be built from the committed native sources, must be what loads, and the
// Linux ones must need nothing but libc, and glibc no newer than 2.17 (loaders.test.ts has them loaded).
// The macOS and Windows ones, cross-built here, are checked for what their loader will ask of them
// (windows.test.ts has the Windows one loaded under Wine; nothing here runs macOS).
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const root = new URL('../..', import.meta.url).pathname;
const { embedsHash, nativeSourceHash } = require('../../scripts/native-hash.cjs');
const expected: string = nativeSourceHash();

const shipped = readdirSync(`${root}prebuilds`).flatMap((dir) => readdirSync(`${root}prebuilds/${dir}`).map((f) => `prebuilds/${dir}/${f}`));
const linux = shipped.filter((f) => f.startsWith('prebuilds/linux-'));
const binutils = spawnSync('objdump', ['--version']).status === 0 && spawnSync('readelf', ['--version']).status === 0;
const llvm = spawnSync('llvm-readobj', ['--version']).status === 0 && spawnSync('llvm-objdump', ['--version']).status === 0;

describe('prebuilds', () => {
  it('linux x64 and arm64 ship for glibc and for musl, macOS for arm64 and x64, Windows for x64', () => {
    for (const arch of ['x64', 'arm64']) for (const libc of ['glibc', 'musl']) expect(shipped).toContain(`prebuilds/linux-${arch}/rangepool.${libc}.node`);
    for (const dir of ['darwin-arm64', 'darwin-x64', 'win32-x64']) expect(shipped).toContain(`prebuilds/${dir}/rangepool.node`);
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

const tool = (cmd: string, ...args: string[]) => execFileSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
const nodeApi = /^_?(napi|node_api)_\w+$/;
const entryPoints = ['napi_register_module_v1', 'node_api_module_get_api_version_v1'];

describe.skipIf(!llvm)(`the macOS prebuilds are bundles for node to load (llvm-readobj, llvm-objdump)${llvm ? '' : ' (skipped: apt-get install llvm)'}`, () => {
  it.each([
    ['arm64', 'Arm64 (0x100000C)', '11.0'],
    ['x64', 'X86-64 (0x1000007)', '10.15'],
  ])('darwin-%s: Mach-O for %s, macOS %s and later, needing only libSystem, Node-API bound at load time', (arch, cpu, minimum) => {
    const path = `${root}prebuilds/darwin-${arch}/rangepool.node`;
    const headers = tool('llvm-readobj', '--file-headers', '--needed-libs', '--macho-version-min', path);
    expect(headers).toContain(`CpuType: ${cpu}`);
    expect(headers).toContain('FileType: DynamicLibrary (0x6)');
    expect(/Platform: macos\s+Version: ([\d.]+)/.exec(headers)?.[1]).toBe(minimum);
    // The one library it loads, and its own install name (not a path of the machine it was built on).
    const needed = /NeededLibraries \[\n([^\]]*)\]/.exec(headers)![1]!.trim().split(/\s+/);
    expect(needed.sort()).toEqual(['/usr/lib/libSystem.B.dylib', '@rpath/rangepool.node']);

    // Every symbol it imports is bound to libSystem, or looked up in the process at load time
    // (-undefined dynamic_lookup): only those may be Node-API's, and all of them must be.
    const binds = tool('llvm-objdump', '--macho', '--bind', '--lazy-bind', '--weak-bind', path)
      .split('\n')
      .map((l) => /\s(libSystem|flat-namespace|\S+)\s+(_\w+)$/.exec(l))
      .filter((m) => m !== null)
      .map((m) => ({ from: m[1]!, symbol: m[2]! }));
    const flat = binds.filter((b) => b.from === 'flat-namespace');
    expect(flat.length).toBeGreaterThan(20);
    for (const b of flat) expect(b.symbol).toMatch(nodeApi);
    for (const b of binds.filter((x) => x.from !== 'flat-namespace')) {
      expect(b.from).toBe('libSystem');
      expect(b.symbol).not.toMatch(nodeApi);
    }

    const exported = tool('llvm-nm', '--extern-only', '--defined-only', path).split('\n').map((l) => l.trim().split(/\s+/).at(-1));
    for (const name of entryPoints) expect(exported).toContain(`_${name}`);
    // arm64 macOS runs no unsigned code: the linker's ad-hoc signature must be there.
    if (arch === 'arm64') expect(tool('llvm-objdump', '--macho', '--private-headers', path)).toContain('cmd LC_CODE_SIGNATURE');
  });
});

describe.skipIf(!llvm)(`the Windows prebuild is a DLL that node.exe can load (llvm-readobj)${llvm ? '' : ' (skipped: apt-get install llvm)'}`, () => {
  const path = `${root}prebuilds/win32-x64/rangepool.node`;

  it('win32-x64: an x64 DLL importing only from the system and Node-API symbols that node.exe exports', () => {
    const headers = tool('llvm-readobj', '--file-headers', path);
    expect(headers).toContain('Format: COFF-x86-64');
    expect(headers).toContain('IMAGE_FILE_MACHINE_AMD64');
    expect(headers).toContain('IMAGE_FILE_DLL');

    const imports = new Map<string, string[]>();
    for (const block of tool('llvm-readobj', '--coff-imports', path).split(/^Import \{$/m).slice(1)) {
      imports.set(/Name: (\S+)/.exec(block)![1]!, [...block.matchAll(/Symbol: (\w+)/g)].map((m) => m[1]!));
    }
    expect([...imports.keys()].sort()).toEqual(['KERNEL32.dll', 'NODE.EXE', 'msvcrt.dll']);
    // What node.exe exports, per node-api-headers (the list the import library was made from).
    const def = readFileSync(require.resolve('node-api-headers/def/node_api.def'), 'utf8');
    const exportedByNode = new Set(def.split('\n').slice(2).map((l: string) => l.trim()).filter(Boolean));
    expect(imports.get('NODE.EXE')!.length).toBeGreaterThan(20);
    for (const symbol of imports.get('NODE.EXE')!) expect(exportedByNode.has(symbol)).toBe(true);
    for (const [dll, symbols] of imports) if (dll !== 'NODE.EXE') for (const s of symbols) expect(s).not.toMatch(nodeApi);
  });

  it('win32-x64 exports the Node-API entry points (and, beside them, only the unwinder zig builds for export)', () => {
    const exported = [...tool('llvm-readobj', '--coff-exports', path).matchAll(/Name: (\w+)/g)].map((m) => m[1]!);
    for (const name of entryPoints) expect(exported).toContain(name);
    for (const name of exported.filter((n) => !entryPoints.includes(n))) expect(name).toMatch(/^(_Unwind_\w+|unw_\w+|_GCC_specific_handler)$/);
  });
});
