#!/usr/bin/env bash
# Runs the pool, native and direct-transport (socket onread) tests on Node 22 and 24 too (users run those; this machine has Node 20).
# (Not the arm64 run under qemu, the C-library loader checks nor the cross-compile checks: they do not
# depend on the Node running them.)
# The binaries come from the npm registry's node-<platform>-<arch> packages, installed under .cache/
# (git-ignored), never as devDependencies: their bin/node would shadow the system node in npm scripts.
set -euo pipefail
cd "$(dirname "$0")/.."
pkg="node-$(node -p 'process.platform')-$(node -p 'process.arch')"
for v in ${NODE_VERSIONS:-22 24}; do
  dir=".cache/node$v"
  bin="$dir/node_modules/$pkg/bin/node"
  [ -x "$bin" ] || npm install --prefix "$dir" --no-save --no-package-lock --no-audit --no-fund --loglevel=error "$pkg@$v"
  echo "== pool, native and HTTP reader tests on Node $("$bin" --version)"
  "$bin" node_modules/vitest/vitest.mjs run test/pool.test.ts test/native test/http --exclude test/native/arm64.test.ts --exclude test/native/portable.test.ts --exclude test/native/loaders.test.ts
done
