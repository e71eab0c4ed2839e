#!/usr/bin/env bash
# Builds hand-made test bundles with GPU kernels, to check the runtime's cuda
# backend on a GPU machine before the compiler's codegen exists:
#
#   scripts/make-test-cubin-bundle.sh OUT_DIR [ARCH]     (ARCH default sm_90)
#
# Needs python3, cc and nvcc (CUDA_HOME, default /usr/local/cuda); run it on
# the build machine. Writes, under OUT_DIR:
#   toy.dlab/          host kernels.so + cubin for ARCH + PTX (the normal case)
#   toy-jit.dlab/      cubin for sm_80 + compute_80 PTX: on sm_90 the driver
#                      finds no SASS and the runtime JIT-compiles the PTX
#   toy-noptx.dlab/    cubin for sm_80 only: a clear "no kernel image" error
#   toy-fatbin.dlab/   fatbin with sm_80 and ARCH SASS and ARCH PTX
#   w.safetensors, x.safetensors, expected.safetensors, wrong.safetensors
# The model is y = 2 * x + bias[c] - 1 (test/Runtime/Inputs/make_toy_bundle.py).
# On the GPU machine (dla-run and libdlart.so copied there):
#   dla-run OUT_DIR/toy.dlab --device cuda --weights OUT_DIR/w.safetensors \
#     --input OUT_DIR/x.safetensors --check OUT_DIR/expected.safetensors \
#     --rtol 0 --atol 0
set -euo pipefail

out=${1:?usage: make-test-cubin-bundle.sh OUT_DIR [ARCH]}
arch=${2:-sm_90}
here=$(cd "$(dirname "$0")/.." && pwd)
inputs=$here/test/Runtime/Inputs
nvcc=${CUDA_HOME:-/usr/local/cuda}/bin/nvcc
[[ -x $nvcc ]] || { echo "make-test-cubin-bundle.sh: no nvcc at $nvcc (set CUDA_HOME)" >&2; exit 1; }
compute=compute_${arch#sm_}

mkdir -p "$out"
python3 "$inputs/make_toy_bundle.py" "$out"
rm -rf "$out/gpu.dlab" "$out/x_bad_shape.safetensors"
cc -shared -fPIC -O1 "$inputs/toy_kernels.c" -o "$out/toy.dlab/kernels.so"
cu=$inputs/toy_kernels.cu
"$nvcc" -cubin -arch="$arch" "$cu" -o "$out/toy.dlab/kernels.cubin"
"$nvcc" -ptx -arch="$compute" "$cu" -o "$out/toy.dlab/kernels.ptx"

# Adds the cuda section to a copy of toy.dlab's manifest.
variant() { # NAME ARCHS_JSON BINARY [PTX]
  local d=$out/$1
  rm -rf "$d" && mkdir -p "$d" && cp "$out/toy.dlab/kernels.so" "$d/"
  python3 - "$out/toy.dlab/manifest.json" "$d/manifest.json" "$2" "$3" "${4:-}" <<'PY'
import json, sys
src, dst, archs, binary, ptx = sys.argv[1:6]
m = json.load(open(src))
m["cuda"] = {"archs": json.loads(archs), "binary": binary}
if ptx:
    m["cuda"]["ptx"] = ptx
json.dump(m, open(dst, "w"), indent=2)
PY
}

variant toy.dlab.new "[\"$arch\"]" kernels.cubin kernels.ptx
mv "$out/toy.dlab.new/manifest.json" "$out/toy.dlab/manifest.json" && rm -rf "$out/toy.dlab.new"

variant toy-jit.dlab '["sm_80"]' kernels.cubin kernels.ptx
"$nvcc" -cubin -arch=sm_80 "$cu" -o "$out/toy-jit.dlab/kernels.cubin"
"$nvcc" -ptx -arch=compute_80 "$cu" -o "$out/toy-jit.dlab/kernels.ptx"

variant toy-noptx.dlab '["sm_80"]' kernels.cubin
cp "$out/toy-jit.dlab/kernels.cubin" "$out/toy-noptx.dlab/"

variant toy-fatbin.dlab "[\"sm_80\", \"$arch\"]" kernels.fatbin
"$nvcc" -fatbin -gencode "arch=compute_80,code=sm_80" \
  -gencode "arch=$compute,code=[$arch,$compute]" "$cu" \
  -o "$out/toy-fatbin.dlab/kernels.fatbin"

echo "wrote $out: toy.dlab (host + $arch cubin + PTX), toy-jit.dlab, toy-noptx.dlab, toy-fatbin.dlab"
