#!/usr/bin/env bash
# Configures (once) and builds dlac into ./build with Ninja.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${DLA_BUILD_DIR:-$root/build}
if [ ! -f "$build/build.ninja" ]; then
  cmake -G Ninja -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release "$@"
fi
cmake --build "$build"
