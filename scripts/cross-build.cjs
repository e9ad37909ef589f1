// Builds the macOS and Windows prebuilds on linux-x64 with the same zig toolchain as the Linux ones.
// node-gyp cannot target another OS, so this compiles binding.gyp's sources with binding.gyp's defines
// and flags directly (one list, read from binding.gyp, so the two builds cannot drift apart):
//   macOS: a Mach-O bundle whose Node-API symbols stay undefined and are bound by node at load time
//          (-undefined dynamic_lookup), libc++ linked in, only libSystem needed.
//   Windows: a DLL linked against an import library made from node-api-headers' node_api.def (the
//          symbols node.exe exports), libc++ linked in.
'use strict';
const { execFileSync } = require('node:child_process');
const { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { dirname, join } = require('node:path');
const { nativeSourceHash } = require('./native-hash.cjs');
const { zig } = require('./zig.cjs');

const root = join(__dirname, '..');

/** binding.gyp's one target: sources, defines (the source hash filled in) and C++ flags. */
function gypTarget() {
  const [target] = JSON.parse(readFileSync(join(root, 'binding.gyp'), 'utf8')).targets;
  const hash = nativeSourceHash(root);
  const defines = target.defines.map((d) => d.replace(/<!\(node scripts\/native-hash\.cjs\)/, hash));
  // node_addon_api_except, the dependency binding.gyp names, adds exactly this define.
  return { sources: target.sources, defines: [...defines, 'NAPI_CPP_EXCEPTIONS'], cflags: target.cflags_cc };
}

/** Builds `out` for `zigTarget` (e.g. aarch64-macos.11.0, x86_64-windows-gnu). */
function crossBuild(zigTarget, out) {
  const { sources, defines, cflags } = gypTarget();
  const headers = dirname(require.resolve('node-api-headers/package.json'));
  const work = mkdtempSync(join(tmpdir(), 'rangepool-cross-'));
  try {
    // Built in a scratch directory: the linker writes an import library and the like beside its output.
    const built = join(work, 'rangepool.node');
    const args = ['c++', '-target', zigTarget, '-shared', '-o', built, ...cflags, '-Werror', '-fvisibility=hidden', '-s'];
    args.push('-I', require('node-addon-api').include_dir, '-I', join(headers, 'include'));
    for (const d of defines) args.push(`-D${d}`);
    if (zigTarget.includes('-macos')) {
      // Its own install name, not the scratch path this machine built it at.
      args.push('-Wl,-undefined,dynamic_lookup', '-Wl,-install_name,@rpath/rangepool.node');
    } else {
      const lib = join(work, 'node.lib');
      execFileSync(zig(), ['dlltool', '-d', join(headers, 'def', 'node_api.def'), '-l', lib, '-m', 'i386:x86-64']);
      args.push(lib);
    }
    execFileSync(zig(), [...args, ...sources], {
      cwd: root,
      stdio: 'inherit',
      env: { ...process.env, ZIG_GLOBAL_CACHE_DIR: join(root, '.cache', 'zig-cache') },
    });
    mkdirSync(dirname(out), { recursive: true });
    copyFileSync(built, out);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

module.exports = { crossBuild, gypTarget };
