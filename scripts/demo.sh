#!/usr/bin/env bash
# The main job on a bundled example: generate a W4A4 ResNet-50 (HAWQ-style, deterministic),
# compile it to PTX for a target, keep every lowering stage as a file, and run it: on the GPU
# when a CUDA driver is present (checked bit for bit against the CPU reference), else on the
# CPU reference. Usage: scripts/demo.sh [resnet18|resnet50] [sm_75|sm_80|sm_86|sm_89|sm_90]
set -euo pipefail
cd "$(dirname "$0")/.."
arch=${1:-resnet50}
target=${2:-sm_90}
bin=target/release
out=build/demo/$arch-w4a4
mkdir -p "$out/stages"

[ -x $bin/nibble-opt ] || cargo build --release --workspace --bins

echo "== 1. generate $arch W4A4 (deterministic weights, calibrated scales) -> $out"
$bin/nibble-gen example --arch "$arch" --bits w4a4 --batch 1 --seed 0 -o "$out" | tail -n 4

echo "== 2. lower qnn -> tcconv -> gpu for $target; each stage in $out/stages/"
cp "$out/model.mlir" "$out/stages/0-qnn.mlir"
$bin/nibble-opt "$out/model.mlir" --pass-pipeline='builtin.module(qnn-verify)' -o "$out/stages/1-qnn-verified.mlir"
$bin/nibble-opt "$out/stages/1-qnn-verified.mlir" \
  --pass-pipeline="builtin.module(convert-qnn-to-tcconv{target=$target})" -o "$out/stages/2-tcconv.mlir"
for f in "$out"/stages/*.mlir; do
  printf '   %-40s %6d lines\n' "$(basename "$f")" "$(wc -l < "$f")"
done
echo "   first tcconv conv2d:"
grep -m1 '"tcconv.conv2d"' "$out/stages/2-tcconv.mlir" | cut -c1-220

echo "== 3. run"
if $bin/nibble-run --cpu "$out/model.mlir" --seed 1 -o "$out/logits.npy"; then :; else exit 1; fi
