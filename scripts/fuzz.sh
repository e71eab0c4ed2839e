#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ with clang-22 into build-fuzz/ and runs
# each one for SECONDS (default 60), one after the other. Fails if any target
# crashes, hangs (> 60 s on one input), runs out of memory or leaks; the
# offending input is kept as build-fuzz/artifacts/<target>/crash-* (rerun it
# with `build-fuzz/fuzz/<target> FILE`).
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
# New interesting inputs accumulate in build-fuzz/corpus/<target>/ and are
# reused by the next run; the checked-in seeds are fuzz/corpus/<target>/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${DLA_FUZZ_BUILD_DIR:-$root/build-fuzz}
seconds=${1:-60}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(fuzz_model_spec fuzz_model_import fuzz_safetensors fuzz_dla_parser fuzz_manifest
           fuzz_kernel_files)
fi

"$root/scripts/setup.sh"
if [ ! -f "$build/build.ninja" ]; then
  cmake -G Ninja -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 \
    -DDLA_ENABLE_FUZZ=ON
fi
cmake --build "$build" --target "${targets[@]}"

# Seeds: fuzz_model_import shares the JSON corpus.
seeds_for() {
  case "$1" in
    fuzz_model_import) echo "$root/fuzz/corpus/fuzz_model_spec" ;;
    *) echo "$root/fuzz/corpus/$1" ;;
  esac
}
dict_for() {
  case "$1" in
    fuzz_model_spec|fuzz_model_import) echo "$root/fuzz/model_spec.dict" ;;
    fuzz_safetensors) echo "$root/fuzz/safetensors.dict" ;;
    fuzz_dla_parser) echo "$root/fuzz/dla.dict" ;;
    fuzz_manifest) echo "$root/fuzz/manifest.dict" ;;
    fuzz_kernel_files) echo "$root/fuzz/kernel_files.dict" ;;
  esac
}

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
failed=()
summary=()
for t in "${targets[@]}"; do
  corpus="$build/corpus/$t"
  artifacts="$build/artifacts/$t"
  mkdir -p "$corpus" "$artifacts"
  log="$build/$t.log"
  args=(-max_total_time="$seconds" -timeout=60 -rss_limit_mb=2048
        -print_final_stats=1 -artifact_prefix="$artifacts/")
  dict=$(dict_for "$t")
  if [ -n "$dict" ] && [ -f "$dict" ]; then args+=(-dict="$dict"); fi
  echo "fuzz: $t for ${seconds}s (log: $log)"
  set +e
  (cd "$build" && "$build/fuzz/$t" "${args[@]}" "$corpus" "$(seeds_for "$t")") >"$log" 2>&1
  status=$?
  set -e
  runs=$(grep -E '^stat::number_of_executed_units:' "$log" | awk '{s+=$2} END {print s+0}')
  if [ "$status" -ne 0 ]; then
    failed+=("$t")
    summary+=("$t: FAILED (exit $status) after $runs runs; see $log and $artifacts/")
    grep -E 'ERROR:|SUMMARY:|runtime error|Test unit written' "$log" | head -5 || true
  else
    summary+=("$t: ok, $runs runs in ${seconds}s")
  fi
done
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -ne 0 ]; then
  echo "fuzz: ${#failed[@]} target(s) failed: ${failed[*]}"
  exit 1
fi
