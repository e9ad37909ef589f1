// `npm run prebuildify`: rebuilds every prebuild that no longer matches native/ and binding.gyp (or all
// of them with --force). npm also runs this before `npm run build`, so it must cost nothing, and need no
// compiler, when the prebuilds are current.
//
// On a linux-x64 host it builds the four Linux binaries with zig (scripts/zig.cjs): x64 and arm64, for
// glibc 2.17 (older than any glibc Node 20 itself runs on) and for musl (Alpine), each with
// libc++ linked in, so nothing but libc is needed where it loads. Elsewhere (macOS and Windows runners) it
// builds this platform's binary with the host compiler.
'use strict';
const { execFileSync } = require('node:child_process');
const { join } = require('node:path');
const { embedsHash, nativeSourceHash } = require('./native-hash.cjs');
const { zigCompilers } = require('./zig.cjs');

const root = join(__dirname, '..');
const prebuildify = join(root, 'node_modules', '.bin', 'prebuildify');

/** What this host builds: [{ arch, libc?, zigTarget? }]. */
function targets() {
  if (process.platform === 'linux' && process.arch === 'x64') {
    return [
      { arch: 'x64', libc: 'glibc', zigTarget: 'x86_64-linux-gnu.2.17' },
      { arch: 'arm64', libc: 'glibc', zigTarget: 'aarch64-linux-gnu.2.17' },
      { arch: 'x64', libc: 'musl', zigTarget: 'x86_64-linux-musl' },
      { arch: 'arm64', libc: 'musl', zigTarget: 'aarch64-linux-musl' },
    ];
  }
  return [{ arch: process.arch }];
}

/** Where prebuildify puts a target's binary (its name carries the libc tag node-gyp-build matches). */
function outputFile({ arch, libc }) {
  return join(root, 'prebuilds', `${process.platform}-${arch}`, libc ? `rangepool.${libc}.node` : 'rangepool.node');
}

function build(target) {
  const args = ['--napi', '--target', process.versions.node, '--arch', target.arch];
  let env = process.env;
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
