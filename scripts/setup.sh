#!/usr/bin/env bash
# Installs every Debian package dlac needs (Debian 12). Idempotent: packages
# already present are left as they are.
set -euo pipefail

packages=(
  cmake ninja-build g++ make pkg-config
  libmlir-22-dev mlir-22-tools llvm-22-dev llvm-22-tools  # MLIR/LLVM 22, lit, FileCheck
  nlohmann-json3-dev libgtest-dev                          # JSON, unit tests
  python3 python3-numpy python3-torch python3-torchvision # the PyTorch oracle
  clang-22 libclang-rt-22-dev libfuzzer-22-dev             # scripts/fuzz.sh (libFuzzer, ASan)
)

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages are installed"
  exit 0
fi
echo "setup: installing ${missing[*]}"
"${sudo_cmd[@]}" apt-get update
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
