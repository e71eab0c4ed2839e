#!/usr/bin/env bash
# Prepares, on a build machine, the folder that scripts/gpu-check.sh runs on a
# GPU machine (CUDA driver, PyTorch, torchvision; no LLVM/MLIR, no network):
#
#   scripts/prepare-gpu-check.sh OUT_DIR [ARCH]      (ARCH default sm_90)
#
# OUT_DIR gets: bin/dla-run + lib/libdlart.so, python/ (the PyTorch oracle),
# scripts/ (gpu-check.sh, make_parity_case.py, compare_outputs.py,
# gpu_bench_torch.py), and per
# model its JSON and a bundle (cuda and host kernels):
#   small/     DLASeg-34 ctdet at 64x64 (checked on the host here first)
#   dlaseg34/  DLASeg-34 ctdet at 512x512 (examples/ctdet_dla34.json)
#   small-f16/, small-bf16/, small-tf32/, dlaseg34-f16/, dlaseg34-bf16/,
#   dlaseg34-tf32/: the same in reduced precision (docs/precision.md; a
#              file `precision` names the mode), their convs on tensor cores
#   dlaseg34-f16-simt/: dlaseg34-f16 with every conv on the SIMT kernels
#              (--cuda-convs=simt), to time the tensor-core kernels against
#   mma/       the hand-written kernel of test/Runtime/cuda-emu-mma.test
#              (cp.async, ldmatrix, mma.sync f16 and tf32; exact arithmetic),
#              run on the device and on cuda-emu: the fragment layouts checked
#              on real tensor cores
# Weights, inputs, expected outputs and the float64 truth are made on the GPU
# machine by the same seeded PyTorch oracle: they are large, and it has
# PyTorch.
set -euo pipefail
out=${1:?usage: prepare-gpu-check.sh OUT_DIR [ARCH]}
arch=${2:-sm_90}
root=$(cd "$(dirname "$0")/.." && pwd)
build=${DLA_BUILD_DIR:-$root/build}
"$root/scripts/build.sh" >/dev/null
mkdir -p "$out/bin" "$out/lib" "$out/python" "$out/scripts"
cp "$build/bin/dla-run" "$out/bin/"
cp "$build"/lib/libdlart.so* "$out/lib/"
cp "$root"/python/*.py "$out/python/"
cp "$root/scripts/gpu-check.sh" "$root/scripts/gpu_bench_torch.py" \
   "$root/scripts/make_parity_case.py" "$root/scripts/compare_outputs.py" "$out/scripts/"

prepare() { # name model.json target [precision [dlac options...]]
  local name=$1 model=$2 target=$3 precision=${4:-f32}
  shift $(( $# < 4 ? $# : 4 ))
  mkdir -p "$out/$name"
  cp "$model" "$out/$name/model.json"
  echo "$precision" > "$out/$name/precision"
  "$build/bin/dlac" "$model" --target "$target" --arch "$arch" --precision "$precision" \
    "$@" -o "$out/$name/model.dlab"
}
prepare small "$root/test/Numerics/Inputs/dlaseg34.json" all
# The host build of the same model must pass the suite's tolerance rule
# (float64 truth, docs/testing.md) here before anything runs on a GPU.
case=$(mktemp -d)
trap 'rm -rf "$case"' EXIT
/usr/bin/python3 "$root/scripts/make_parity_case.py" "$out/small/model.json" "$case" --seed 5
"$build/bin/dla-run" "$out/small/model.dlab" --device host \
  --weights "$case/weights.safetensors" --input "$case/input.safetensors" \
  --output "$case/host.safetensors"
/usr/bin/python3 "$root/scripts/compare_outputs.py" --case "$case" "$case/host.safetensors"
# And its CUDA kernels, on cuda-emu (the GPU machine compares them with the
# device's results).
"$build/bin/dla-run" "$out/small/model.dlab" --device cuda-emu \
  --weights "$case/weights.safetensors" --input "$case/input.safetensors" \
  --output "$case/emu.safetensors"
/usr/bin/python3 "$root/scripts/compare_outputs.py" --case "$case" "$case/emu.safetensors"
prepare dlaseg34 "$root/examples/ctdet_dla34.json" cuda
prepare small-f16 "$root/test/Numerics/Inputs/dlaseg34.json" cuda f16
prepare small-bf16 "$root/test/Numerics/Inputs/dlaseg34.json" cuda bf16
prepare small-tf32 "$root/test/Numerics/Inputs/dlaseg34.json" cuda tf32
prepare dlaseg34-f16 "$root/examples/ctdet_dla34.json" cuda f16
prepare dlaseg34-f16-simt "$root/examples/ctdet_dla34.json" cuda f16 --cuda-convs=simt
prepare dlaseg34-bf16 "$root/examples/ctdet_dla34.json" cuda bf16
prepare dlaseg34-tf32 "$root/examples/ctdet_dla34.json" cuda tf32
mkdir -p "$out/mma"
"$(llvm-config-22 --bindir)/split-file" "$root/test/Runtime/cuda-emu-mma.test" "$case/mma"
cp "$case/mma/check.py" "$out/mma/"
"$build/bin/dlac" "$case/mma/mma.mlir" --arch "$arch" -o "$out/mma/model.dlab"
du -sh "$out"
