#!/usr/bin/env bash
# Installs, idempotently, what nibble needs to build and test: LLVM/MLIR 22 from Debian, LLVM lit,
# and NVIDIA's ptxas (PyPI nvidia-cuda-nvcc) to check PTX without a GPU. Then builds the tools.
set -euo pipefail
cd "$(dirname "$0")/.."

pkgs=(libmlir-22-dev mlir-22-tools llvm-22-dev llvm-22-tools libclang-22-dev libpolly-22-dev libzstd-dev zlib1g-dev)
missing=()
for p in "${pkgs[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

py_missing=()
python3 -c "import lit" 2>/dev/null || py_missing+=(lit)
[ -n "$(scripts/find-ptxas.sh 2>/dev/null)" ] || py_missing+=(nvidia-cuda-nvcc)
if [ ${#py_missing[@]} -gt 0 ]; then
  echo "setup: pip install ${py_missing[*]}"
  python3 -m pip install -q "${py_missing[@]}"
fi

cargo build --release --workspace --bins
echo "setup: done (tools in target/release)"
