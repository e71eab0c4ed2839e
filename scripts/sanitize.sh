#!/usr/bin/env bash
# Builds dlac with AddressSanitizer and UndefinedBehaviorSanitizer into
# build-asan/ (-DDLA_ENABLE_SANITIZERS=ON, g++) and runs the whole test suite
# there: the lit suite check-dla and the GoogleTest unit tests. Any sanitizer
# report aborts the process that made it, so the test that ran it fails.
#
#   scripts/sanitize.sh [lit options...]
#
# Leak checking is on. The Python tests of test/python run /usr/bin/python3,
# which is not instrumented: they run, but only the dlac/dla-opt processes
# they start are checked.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${DLA_ASAN_BUILD_DIR:-$root/build-asan}
"$root/scripts/setup.sh"
if [ ! -f "$build/build.ninja" ]; then
  # -g1: line tables for the reports, without the cost of full debug info.
  cmake -G Ninja -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_FLAGS=-g1 -DCMAKE_CXX_FLAGS=-g1 -DDLA_ENABLE_SANITIZERS=ON
fi
cmake --build "$build"

# abort_on_error: a report ends the process with SIGABRT, which no test
# expects (not even `not`-prefixed ones, which want exit status 1).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:abort_on_error=1:print_stacktrace=1}
set +e
/usr/lib/llvm-22/bin/lit -sv "$@" "$build/test" "$build/test/unit" 2>&1 | tee "$build/lit.log"
status=${PIPESTATUS[0]}
set -e
# A sanitizer report in a test that still passed (e.g. in a process whose
# exit status the test ignores) is a failure too.
if grep -qE '^(==[0-9]+==ERROR: |SUMMARY: (Address|UndefinedBehavior|Leak)Sanitizer|.*runtime error: )' "$build/lit.log"; then
  echo "sanitize: sanitizer reports in $build/lit.log"
  status=1
fi
# lit prints "  Passed: N (..%)" (or "  Passed  :  N (..%)" when it aligns
# the kinds); sum the counts of each kind of result. A grep without a match
# must not end the script under `set -e`: it used to, silently and with
# status 1, whenever no test failed.
count() { { grep -E "^ *($1) *:" "$build/lit.log" || true; } | awk -F: '{split($2, n, " "); s += n[1]} END {print s + 0}'; }
passed=$(count 'Passed|Expectedly Failed')
failed=$(count 'Failed|Unexpectedly Passed|Unresolved|Timed Out')
skipped=$(count 'Unsupported|Skipped|Excluded')
echo "sanitize: $passed passed, $failed failed, $skipped skipped under ASan+UBSan"
exit "$status"
