#!/usr/bin/env bash
# The main job on a bundled example: generate a W4A4 ResNet-50 (HAWQ-style, deterministic),
# compile it to PTX for a target, keep every lowering stage as a file, and run it: on the GPU
# when a CUDA driver is present (checked bit for bit against the CPU reference), else on the
# CPU reference. Usage: scripts/demo.sh [resnet18|resnet50] [sm_75|sm_80|sm_86|sm_89|sm_90] [batch]
set -euo pipefail
cd "$(dirname "$0")/.."
arch=${1:-resnet50}
target=${2:-sm_90}
batch=${3:-1}
bin=target/release
out=build/demo/$arch-w4a4-b$batch
stages=$out/stages
mkdir -p "$stages"

[ -x $bin/nibble-opt ] && [ -x $bin/nibble-gen ] && [ -x $bin/nibble-run ] || cargo build --release --workspace --bins

echo "== 1. generate $arch W4A4, batch $batch (deterministic weights, calibrated scales) -> $out"
$bin/nibble-gen example --arch "$arch" --bits w4a4 --batch "$batch" --seed 0 -o "$out" | tail -n 3

echo "== 2. optimize (e-graph) and lower qnn -> tcconv -> gpu -> PTX for $target (every stage in $stages/)"
pipeline="qnn-verify,qnn-egraph-optimize{target=$target},convert-qnn-to-tcconv{target=$target},convert-tcconv-to-gpu{target=$target}"
$bin/nibble-opt "$out/model.mlir" --pass-pipeline="builtin.module($pipeline)" \
  --mlir-print-ir-after-all -o "$stages/3-gpu.mlir" 2> "$stages/all-stages.log"
# One file per stage (the IR printed after each pass).
awk -v dir="$stages" '/^\/\/ -----\/\/ IR Dump After/ { n++; name=$6; sub(/{.*/, "", name); f=sprintf("%s/%d-after-%s.mlir", dir, n, name) } f { print > f }' "$stages/all-stages.log"
cp "$out/model.mlir" "$stages/0-qnn.mlir"
t0=$(date +%s.%N)
$bin/nibble-opt "$out/model.mlir" --pass-pipeline="builtin.module(qnn-to-ptx{target=$target})" \
  --emit=artifact --weights "$out/weights.safetensors" -o "$out/artifact"
t1=$(date +%s.%N)
for f in "$stages"/*.mlir "$out/artifact/kernels.ptx" "$out/artifact/plan.json"; do
  printf '   %-48s %8d lines\n' "${f#$out/}" "$(wc -l < "$f")"
done
printf '   compile time qnn -> PTX: %.2f s\n' "$(echo "$t1 - $t0" | bc)"
echo "   a tcconv conv2d:"
grep -m1 '"tcconv.conv2d"' "$stages"/*after-convert-qnn-to-tcconv*.mlir | cut -c1-200
if ptxas=$(scripts/find-ptxas.sh 2>/dev/null); then
  "$ptxas" -arch="$target" --warning-as-error "$out/artifact/kernels.ptx" -o "$out/artifact/kernels.cubin" \
    && echo "   ptxas -arch=$target accepts kernels.ptx"
fi

echo "== 3. run"
if ldconfig -p 2>/dev/null | grep -q 'libcuda\.so'; then
  $bin/nibble-run "$out/artifact" --seed 1 --check --bench 100
else
  echo "   no CUDA driver here: running the CPU reference instead"
  $bin/nibble-run --cpu "$out/model.mlir" --seed 1 -o "$out/logits.npy"
fi
