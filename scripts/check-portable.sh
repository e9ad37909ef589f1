#!/usr/bin/env bash
# Compiles the native sources for the platforms this machine cannot run, with their warnings as errors,
# so a change that breaks them fails here too (the CI matrix in .github/workflows/ builds and tests them).
#   gcc: Windows x64 (MinGW-w64 g++, posix threads: the VirtualAlloc path, the MSVC-free CRC code) and
#        Linux arm64 (aarch64 g++: the CRC extension path). Needs Debian's g++-mingw-w64-x86-64 and
#        g++-aarch64-linux-gnu.
#   zig: macOS arm64 and x64 with clang and Apple's headers (zig from scripts/zig.cjs; the first run
#        builds zig's C++ runtime for each target, a minute or two, then it is cached in .cache/).
# The core and the Node-API glue are compiled to objects against Node's own headers. Usage:
# scripts/check-portable.sh [gcc] [zig] (both by default). Prints what it checked.
set -euo pipefail
cd "$(dirname "$0")/.."
node_include="$(dirname "$(dirname "$(command -v node)")")/include/node"
[ -f "$node_include/node_api.h" ] || node_include=/usr/include/node
flags=(-std=c++17 -Wall -Wextra -Werror -O2 -DNAPI_VERSION=8 -DNAPI_CPP_EXCEPTIONS -I node_modules/node-addon-api -I "$node_include")
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

# check NAME COMPILER...: every source file compiles.
check() {
  local name="$1"
  shift
  for f in pool registry crc32c crc64nvme file_lock file_space tls_aead tls_records tls_reader addon_tls addon; do "$@" "${flags[@]}" -c "native/$f.cc" -o "$out/$f.o"; done
  echo "ok: $name"
}

parts=("$@")
[ $# -gt 0 ] || parts=(gcc zig)
for part in "${parts[@]}"; do
  case "$part" in
    gcc)
      for cxx in x86_64-w64-mingw32-g++-posix aarch64-linux-gnu-g++; do
        command -v "$cxx" >/dev/null || { echo "missing $cxx" >&2; exit 1; }
        check "$cxx" "$cxx"
      done
      ;;
    zig)
      zig="$(node scripts/zig.cjs)"
      export ZIG_GLOBAL_CACHE_DIR="$PWD/.cache/zig-cache"
      for target in aarch64-macos x86_64-macos; do check "zig c++ -target $target" "$zig" c++ -target "$target"; done
      ;;
    *) echo "unknown check: $part (gcc or zig)" >&2; exit 2 ;;
  esac
done
