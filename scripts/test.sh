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
# lit prints "  Passed: N (..%)"; sum the counts of each kind of result.
count() { { grep -E "^ *($1) *:" "$build/lit.log" || true; } | sed -E 's/^[^:]*:[[:space:]]*([0-9]+).*/\1/' | awk '{s += $1} END {print s + 0}'; }
passed=$(count 'Passed|Expectedly Failed')
failed=$(count 'Failed|Unexpectedly Passed|Unresolved|Timed Out')
skipped=$(count 'Unsupported|Skipped|Excluded')
echo "$passed passed, $failed failed, $skipped skipped"
exit "$status"
