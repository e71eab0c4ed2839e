#!/usr/bin/env bash
# Runs on a GPU machine, in a folder made by scripts/prepare-gpu-check.sh:
# each bundle on the GPU against PyTorch's float64 truth (at most 4x PyTorch
# float32's own error, scripts/compare_outputs.py), then dla-run
# against PyTorch eager on the same GPU (same JSON, fp32, batch 1, after
# warm-up), and prints one table; for the small model also the same bundle
# on cuda-emu (the CUDA kernels on the CPU, docs/runtime.md) and the largest
# difference between the device's and the emulator's outputs: how the
# emulator itself is checked (and first the hand-written tensor-core kernel
# of test/Runtime/cuda-emu-mma.test, exact on both or not). Reduced-precision bundles (a file `precision`
# in their folder, docs/precision.md) are checked against the float64 truth
# with the oracle rounding as that mode does as the yardstick (within 4x of
# its error, at least 1/4 of it) and timed against PyTorch eager in that
# precision. Meant to finish within 6 minutes.
set -uo pipefail
dir=$(cd "${1:-$(dirname "$0")/..}" && pwd)
export LD_LIBRARY_PATH=$dir/lib:${LD_LIBRARY_PATH:-}
run=$dir/bin/dla-run
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader || true
status=0
rows=()
if [ -d "$dir/mma" ]; then
  m=$dir/mma
  echo "== mma: the hand-written cp.async / ldmatrix / mma.sync kernel, device and cuda-emu"
  DLA_SRC=$dir python3 "$m/check.py" write "$m/input.safetensors"
  for dev in cuda cuda-emu; do
    "$run" "$m/model.dlab" --device $dev --input "$m/input.safetensors" \
      --output "$m/$dev.safetensors" >/dev/null &&
      DLA_SRC=$dir python3 "$m/check.py" check f16 "$m/input.safetensors" "$m/$dev.safetensors" \
        | sed "s/^/$dev: /" || status=1
  done
fi
for name in small dlaseg34 small-f16 small-bf16 small-tf32 dlaseg34-f16 dlaseg34-f16-simt \
    dlaseg34-bf16 dlaseg34-tf32; do
  m=$dir/$name
  [ -d "$m" ] || continue
  p=$(cat "$m/precision" 2>/dev/null || echo f32)
  pcase=(); check=(--case "$m")
  if [ "$p" != f32 ]; then
    pcase=(--precision "$p")
    check=(--truth "$m/truth.safetensors" --baseline "$m/expected-$p.safetensors" --min-ratio 0.25)
  fi
  echo "== $name ($p): seeded weights, input, expected outputs and float64 truth (PyTorch, CPU)"
  python3 "$dir/scripts/make_parity_case.py" "$m/model.json" "$m" --seed 5 "${pcase[@]}" || status=1
  echo "== $name: correctness on cuda"
  if "$run" "$m/model.dlab" --device cuda --weights "$m/weights.safetensors" \
       --input "$m/input.safetensors" --output "$m/cuda.safetensors" &&
     python3 "$dir/scripts/compare_outputs.py" "${check[@]}" "$m/cuda.safetensors" \
       | tee "$m/check.txt"; then ok=ok; else ok=MISMATCH; status=1; fi
  err=$(grep -oE 'worst [0-9.]+x' "$m/check.txt" | awk '{print $2}' | tail -1)
  if [ "${name%%-*}" = small ]; then
    echo "== $name: the same bundle on cuda-emu, against the device"
    if "$run" "$m/model.dlab" --device cuda-emu --weights "$m/weights.safetensors" \
         --input "$m/input.safetensors" --output "$m/emu.safetensors" &&
       python3 "$dir/scripts/compare_outputs.py" "${check[@]}" "$m/emu.safetensors"; then
      python3 - "$m/cuda.safetensors" "$m/emu.safetensors" "$dir/python" <<'PY' || status=1
import sys
sys.path.insert(0, sys.argv[3])
from dla_safetensors import load_file
a, b = load_file(sys.argv[1]), load_file(sys.argv[2])
for k in sorted(a):
    d = (a[k].double() - b[k].double()).abs().max().item()
    print("cuda vs cuda-emu %s: max |diff| %.3g (max |cuda| %.3g)" % (k, d, a[k].abs().max().item()))
PY
    else
      echo "cuda-emu: FAILED"; status=1
    fi
  fi
  echo "== $name: dla-run --bench (CUDA graph)"
  "$run" "$m/model.dlab" --device cuda --weights "$m/weights.safetensors" --graph \
     --bench 20 --warmup 3 | tee "$m/bench.txt"
  ours=$(grep -oE 'median [0-9.]+' "$m/bench.txt" | awk '{print $2}' | head -1)
  echo "== $name: PyTorch eager"
  torch=$(python3 "$dir/scripts/gpu_bench_torch.py" "$m/model.json" "$m/weights.safetensors" 20 5 "$p" | tail -1)
  rows+=("$(printf '%-14s %-9s %-10s %-12s %-12s' "$name" "$ok" "${err:-?}" "${ours:-?}" "${torch:-?}")")
done
echo
printf '%-14s %-9s %-10s %-12s %-12s\n' model check err/torch dlac_ms torch_ms
for r in "${rows[@]}"; do echo "$r"; done
exit $status
