#!/usr/bin/env bash
# The ONNX fixtures on the GPU, bit for bit against the CPU reference.
#   bench/onnx_gpu_check.sh build     (here: imports, artifacts, MLIR-free nibble-run -> target/onnx-suite)
#   target/onnx-suite/onnx_gpu_check.sh run   (on the GPU machine, carrying target/onnx-suite)
set -euo pipefail
case "${1:-}" in
build)
  cd "$(dirname "$0")/.."
  cargo build --release -p nibble-opt -p nibble-gen
  CARGO_TARGET_DIR=target/gpu cargo build --release -p nibble-run --no-default-features
  rm -rf target/onnx-suite && mkdir -p target/onnx-suite/art
  cp target/gpu/release/nibble-run bench/onnx_gpu_check.sh target/onnx-suite/
  for f in resnet_u8 resnet_s8 bottleneck_s8 resnet_w4; do
    for b in 2 8 64; do
      target/release/nibble-gen import models/fixtures/onnx/$f.onnx --batch $b -o build/onnx/$f-b$b > /dev/null
      for t in ${TARGETS:-sm_80 sm_90 sm_90a}; do
        target/release/nibble-opt build/onnx/$f-b$b/model.mlir --pass-pipeline="builtin.module(qnn-to-ptx{target=$t})" \
          --emit=artifact -o target/onnx-suite/art/$f-b$b-$t > /dev/null
      done
    done
  done ;;
run)
  cd "$(dirname "$0")"
  pass=0; fail=0
  for d in art/*; do
    for s in 1 2 3; do
      if ./nibble-run "$d" --seed $s --check > /tmp/log 2>&1; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL $d seed $s"; tail -3 /tmp/log; fi
    done
  done
  echo "checked: $pass pass, $fail fail"
  for a in resnet_u8-b8-sm_90 resnet_s8-b64-sm_90a; do
    for tool in memcheck racecheck; do
      compute-sanitizer --tool $tool --error-exitcode 9 ./nibble-run art/$a --check > /tmp/san 2>&1 || true
      echo "sanitize $a $tool: $(tail -1 /tmp/san)"
    done
  done ;;
*) echo "usage: $0 build|run" >&2; exit 1 ;;
esac
