// `npm run prebuildify`: rebuilds every prebuild that no longer matches native/ and binding.gyp (or all
// of them with --force). npm also runs this before `npm run build`, so it must cost nothing, and need no
// compiler, when the prebuilds are current.
//
// On a linux-x64 host it builds every shipped binary with zig (scripts/zig.cjs): the four Linux ones with
// node-gyp (x64 and arm64, for glibc 2.17, older than any glibc Node 20 itself runs on, and for musl),
// and macOS arm64/x64 and Windows x64 with scripts/cross-build.cjs; each has libc++ linked in, so nothing
// but the system's C library is needed where it loads. Elsewhere (macOS and Windows runners) it builds
// this platform's binary with the host compiler.
'use strict';
const { execFileSync } = require('node:child_process');
const { existsSync } = require('node:fs');
const { dirname, join } = require('node:path');
const { embedsHash, nativeSourceHash } = require('./native-hash.cjs');
const { crossBuild } = require('./cross-build.cjs');
const { zigCompilers } = require('./zig.cjs');

const root = join(__dirname, '..');
const prebuildify = join(root, 'node_modules', '.bin', 'prebuildify');

/** What this host builds: [{ arch, platform?, libc?, zigTarget? }] (platform: when not this host's). */
function targets() {
  if (process.platform === 'linux' && process.arch === 'x64') {
    return [
      { arch: 'x64', libc: 'glibc', zigTarget: 'x86_64-linux-gnu.2.17' },
      { arch: 'arm64', libc: 'glibc', zigTarget: 'aarch64-linux-gnu.2.17' },
      { arch: 'x64', libc: 'musl', zigTarget: 'x86_64-linux-musl' },
      { arch: 'arm64', libc: 'musl', zigTarget: 'aarch64-linux-musl' },
      // The oldest macOS releases Node 20 runs on.
      { platform: 'darwin', arch: 'arm64', zigTarget: 'aarch64-macos.11.0' },
      { platform: 'darwin', arch: 'x64', zigTarget: 'x86_64-macos.10.15' },
      { platform: 'win32', arch: 'x64', zigTarget: 'x86_64-windows-gnu' },
    ];
  }
  return [{ arch: process.arch }];
}

/** Where prebuildify puts a target's binary (its name carries the libc tag node-gyp-build matches). */
function outputFile({ platform = process.platform, arch, libc }) {
  return join(root, 'prebuilds', `${platform}-${arch}`, libc ? `rangepool.${libc}.node` : 'rangepool.node');
}

function build(target) {
  if (target.platform) return crossBuild(target.zigTarget, outputFile(target));
  const args = ['--napi', '--target', process.versions.node, '--arch', target.arch];
  // The headers of the node running this, where it has them, so node-gyp need not download any.
  const prefix = dirname(dirname(process.execPath));
  let env = existsSync(join(prefix, 'include', 'node', 'common.gypi')) ? { ...process.env, npm_config_nodedir: prefix } : process.env;
  if (target.zigTarget) {
    args.push('--tag-libc', '--libc', target.libc);
    // zig links the C++ runtime statically; strip at link time (the host's strip knows no arm64).
    env = { ...env, ...zigCompilers(target.zigTarget), LDFLAGS: '-Wl,--strip-all' };
  } else {
    args.push('--strip');
  }
  execFileSync(prebuildify, args, { cwd: root, env, stdio: 'inherit' });
}

const want = nativeSourceHash(root);
for (const target of targets()) {
  const file = outputFile(target);
  const name = file.slice(root.length + 1);
  if (!process.argv.includes('--force') && embedsHash(file, want)) {
    console.log(`${name} is current (${want})`);
    continue;
  }
  build(target);
  if (!embedsHash(file, want)) throw new Error(`rebuilt ${name} does not embed ${want}`);
  console.log(`${name} rebuilt (${want})`);
}
