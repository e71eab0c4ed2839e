#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: the lit suite
# check-dla (dialect, passes, frontend, numerics against PyTorch) and the
# GoogleTest unit tests, which lit runs too.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${DLA_BUILD_DIR:-$root/build}
"$root/scripts/setup.sh"
"$root/scripts/build.sh"
set +e
/usr/lib/llvm-22/bin/lit -sv "$build/test" "$build/test/unit" 2>&1 | tee "$build/lit.log"
status=${PIPESTATUS[0]}
set -e
passed=$(grep -E '^ *Passed *:' "$build/lit.log" | awk '{print $NF}')
failed=$(grep -E '^ *Failed *:' "$build/lit.log" | awk '{print $NF}')
skipped=$(grep -E '^ *(Unsupported|Skipped) *:' "$build/lit.log" | awk '{s+=$NF} END {print s+0}')
echo "${passed:-0} passed, ${failed:-0} failed, ${skipped:-0} skipped"
exit "$status"
