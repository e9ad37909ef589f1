#!/usr/bin/env bash
# Compiles the native sources for the platforms this machine cannot run, with their warnings as errors,
# so a change that breaks them fails here too (the CI matrix in .github/workflows/ builds and tests them):
#   Windows x64 (MinGW-w64 g++, posix threads: VirtualAlloc path, MSVC-free parts of the CRC code),
#   Linux arm64 (aarch64 g++: the CRC extension path).
# The core is compiled to objects; the Node-API glue is checked against Node's own headers.
# Needs: g++-mingw-w64-x86-64 and g++-aarch64-linux-gnu (Debian). Prints what it checked.
set -euo pipefail
cd "$(dirname "$0")/.."
node_include="$(dirname "$(dirname "$(command -v node)")")/include/node"
[ -f "$node_include/node_api.h" ] || node_include=/usr/include/node
flags=(-std=c++17 -Wall -Wextra -Werror -O2 -DNAPI_VERSION=8 -DNAPI_CPP_EXCEPTIONS -I node_modules/node-addon-api -I "$node_include")
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
for cxx in x86_64-w64-mingw32-g++-posix aarch64-linux-gnu-g++; do
  command -v "$cxx" >/dev/null || { echo "missing $cxx" >&2; exit 1; }
  for f in pool registry crc32c crc64nvme; do "$cxx" "${flags[@]}" -c "native/$f.cc" -o "$out/$f.o"; done
  "$cxx" "${flags[@]}" -fsyntax-only native/addon.cc
  echo "ok: $cxx"
done
