#!/usr/bin/env bash
# Runs the pool and native tests against an AddressSanitizer build of the addon, then removes that
# build (a local build/ wins over prebuilds, so it must not stay). Usage: scripts/asan.sh [vitest args]
set -euo pipefail
cd "$(dirname "$0")/.."
trap 'rm -rf build' EXIT
# The running node's headers where it has them (as scripts/prebuild.cjs), so nothing is downloaded.
prefix="$(dirname "$(dirname "$(command -v node)")")"
[ -f "$prefix/include/node/common.gypi" ] && export npm_config_nodedir="$prefix"
CXXFLAGS="-fsanitize=address -fno-omit-frame-pointer -g" LDFLAGS="-fsanitize=address" npx node-gyp rebuild >/dev/null
# Node itself is not instrumented: preload the runtime; V8's own allocations make leak reports noise.
export LD_PRELOAD="$(gcc -print-file-name=libasan.so)" ASAN_OPTIONS=detect_leaks=0
# Not the arm64, loader and Windows checks: they load the committed prebuilds, not this build.
if [ $# -eq 0 ]; then set -- test/pool.test.ts test/native --exclude test/native/arm64.test.ts --exclude test/native/loaders.test.ts --exclude test/native/windows.test.ts; fi
npx vitest run "$@"
