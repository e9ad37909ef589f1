#!/usr/bin/env bash
# Runs the whole suite on each Node version users run besides this machine's own (22, 24, 26 by default;
# NODE_VERSIONS="24" to pick), after `npm test` has built dist/ and checked the prebuilds on it.
# The binaries come from the npm registry's node-<platform>-<arch> packages, unpacked under .cache/ by
# scripts/npm-fetch.cjs (git-ignored), never as devDependencies: their bin/node would shadow the system
# node in npm scripts. Each version's bin/ goes first on PATH, so every child process the tests start
# (the CLI, the emulators, the object server) runs on that version too. Prints how long each took.
set -euo pipefail
cd "$(dirname "$0")/.."
for v in ${NODE_VERSIONS:-22 24 26}; do
  dir="$(node -p "require('./scripts/npm-fetch.cjs').npmFetch('node-' + process.platform + '-' + process.arch + '@$v', '.cache')")"
  echo "== the whole suite on Node $("$dir/bin/node" --version)"
  start=$SECONDS
  PATH="$PWD/$dir/bin:$PATH" "$dir/bin/node" node_modules/vitest/vitest.mjs run
  echo "== Node $("$dir/bin/node" --version): $((SECONDS - start)) s"
done
