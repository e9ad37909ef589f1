#!/usr/bin/env bash
# Runs the pool, native and direct-transport (socket onread) tests on Node 22 and 24 too (users run those; this machine has Node 20).
# (Not the arm64 run under qemu, the C-library loader checks nor the cross-compile checks: they do not
# depend on the Node running them.)
# The binaries come from the npm registry's node-<platform>-<arch> packages, unpacked under .cache/ by
# scripts/npm-fetch.cjs (git-ignored), never as devDependencies: their bin/node would shadow the system
# node in npm scripts.
set -euo pipefail
cd "$(dirname "$0")/.."
for v in ${NODE_VERSIONS:-22 24}; do
  bin="$(node -p "require('./scripts/npm-fetch.cjs').npmFetch('node-' + process.platform + '-' + process.arch + '@$v', '.cache')")/bin/node"
  echo "== pool, native and HTTP reader tests on Node $("$bin" --version)"
  "$bin" node_modules/vitest/vitest.mjs run test/pool.test.ts test/native test/http --exclude test/native/arm64.test.ts --exclude test/native/portable.test.ts --exclude test/native/loaders.test.ts
done
