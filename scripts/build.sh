#!/usr/bin/env bash
# Configures and builds hatchet-caf into build/ (or $HATCHET_BUILD_DIR). Extra arguments are
# build targets; none means everything.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${HATCHET_BUILD_DIR:-$root/build}
jobs=${HATCHET_JOBS:-$(nproc)}
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
targets=()
for t in "$@"; do targets+=(--target "$t"); done
cmake --build "$build" -j "$jobs" "${targets[@]}"
