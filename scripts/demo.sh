#!/usr/bin/env bash
# The main job: install, build, import DLA-34 ctdet, check its parameters
# against CenterNet's state dict, then run it on the host and with the
# reference executor and check both against PyTorch's float64 result on the
# same random weights and input (docs/testing.md).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${DLA_BUILD_DIR:-$root/build}
"$root/scripts/setup.sh"
"$root/scripts/build.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== DLASeg-34 ctdet: parameters vs. CenterNet's state dict"
"$build/bin/dlac" "$root/examples/ctdet_dla34.json" --emit=params | sort > "$work/dlac.txt"
ref="$root/test/reference/dlaseg34_ctdet_state_dict.txt"
grep -v num_batches_tracked "$ref" | sort | diff - "$work/dlac.txt"
echo "   $(wc -l < "$work/dlac.txt") keys and shapes identical to CenterNet's"

echo "== DLASeg-34 ctdet at 128x128: compile, run on the host, check"
sed 's/\[1, 3, 512, 512\]/[1, 3, 128, 128]/' "$root/examples/ctdet_dla34.json" > "$work/model.json"
/usr/bin/python3 "$root/scripts/make_parity_case.py" "$work/model.json" "$work" --seed 7
"$build/bin/dlac" "$work/model.json" --emit=dot | grep -o '[0-9]* kernels, [0-9]* MACs'
start=$(date +%s%N)
"$build/bin/dlac" "$work/model.json" --target host -o "$work/model.dlab"
end=$(date +%s%N)
echo "   compiled to a host bundle in $(( (end - start) / 1000000 )) ms"
"$build/bin/dla-run" "$work/model.dlab" --weights "$work/weights.safetensors" \
  --input "$work/input.safetensors" --output "$work/host.safetensors" --bench 3 --warmup 1
"$build/bin/dlac" "$work/model.json" --run-reference --weights "$work/weights.safetensors" \
  --input "$work/input.safetensors" -o "$work/reference.safetensors" 2>/dev/null
echo "== host kernels and reference executor vs. PyTorch's float64 truth (at most 4x PyTorch float32's error)"
/usr/bin/python3 "$root/scripts/compare_outputs.py" --case "$work" "$work/host.safetensors" "$work/reference.safetensors"
