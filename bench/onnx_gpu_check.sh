#!/usr/bin/env bash
# ONNX models on the GPU: the fixtures of models/fixtures/onnx, random grouped / depthwise
# convs and channel concats of odd splits bit for bit against the CPU reference, and a full MobileNetV2 (int8 QDQ, made by
# bench/make_onnx_model.py) checked and timed next to PyTorch fp16's mobilenet_v2.
#   bench/onnx_gpu_check.sh build            (here: imports, artifacts, MLIR-free nibble-run -> target/onnx-suite,
#                                             packed into target/onnx-suite.tgz; needs python3 with onnx and
#                                             onnxruntime for the MobileNetV2 model; FIXTURES="a b" builds
#                                             those fixtures only, EXTRAS=0 leaves out the grouped convs,
#                                             concats, mul / lookup and MobileNetV2; CHAINS=1 adds the
#                                             fixtures with chains=cluster where they chain convs)
#   tar xzf target/onnx-suite.tgz -C /tmp && /tmp/onnx-suite/onnx_gpu_check.sh run
#                                            (on the GPU machine, carrying target/onnx-suite.tgz: the PTX compresses
#                                             about tenfold, and the directory itself outgrows what a call carries)
set -euo pipefail
case "${1:-}" in
build)
  cd "$(dirname "$0")/.."
  cargo build --release -p nibble-opt -p nibble-gen
  CARGO_TARGET_DIR=target/gpu cargo build --release -p nibble-run --no-default-features
  s=target/onnx-suite
  rm -rf $s && mkdir -p $s/art
  cp target/gpu/release/nibble-run bench/onnx_gpu_check.sh bench/torch_baseline.py $s/
  opt() { # model_dir target name [convert-qnn-to-tcconv options]
    local pipe="qnn-to-ptx{target=$2}"
    if [ -n "${4:-}" ]; then
      pipe="qnn-verify,qnn-egraph-optimize{target=$2},convert-qnn-to-tcconv{target=$2 $4},convert-tcconv-to-gpu{target=$2}"
    fi
    target/release/nibble-opt "$1/model.mlir" --pass-pipeline="builtin.module($pipe)" \
      --emit=artifact -o "$s/art/$3" > /dev/null
  }
  all="resnet_u8 resnet_s8 bottleneck_s8 resnet_w4 mobilenet_s8 bottleneck_u8w resnet_qop_u8 mobilenet_qop_s8 biased_u8 biased_qop_u8 resnet_convf_u8 vgg_u8 qcdq_u4 squeeze_u8 squeeze_qop_u8 mobilenetv3_u8 efficientnet_u8 efficientnet_qop_u8 densenet_u8 tanh_u8 inception_u8 inception_s8 inception_qop_s8 softmax_u8 softmax_s8 softmax_qop_s8 shufflenet_u8 shufflenet_qop_u8 exported_u8 exported_qop_u8 oddconv_u8 oddconv_qop_s8 floatarith_u8 floatarith_s8 normalized_u8 normalized_s8 exported_norm_u8 exported_norm_s8"
  for f in ${FIXTURES:-$all}; do
    for b in 2 8 64; do
      target/release/nibble-gen import models/fixtures/onnx/$f.onnx --batch $b -o build/onnx/$f-b$b > /dev/null
      for t in ${TARGETS:-sm_80 sm_90 sm_90a}; do opt build/onnx/$f-b$b $t $f-b$b-$t; done
      # the stem's zero-point pad as a kernel of its own (pads=separate, `-sep`; by default the
      # quantize writes it)
      case $f in resnet_u8 | biased_u8) opt build/onnx/$f-b$b sm_90 $f-b$b-sm_90-sep pads=separate ;; esac
      # CHAINS=1: chains of convs over thread-block clusters (`-ch`), where the fixture has one
      if [ "${CHAINS:-0}" = 1 ] && [ $b -le 8 ]; then
        opt build/onnx/$f-b$b sm_90a $f-b$b-sm_90a-ch chains=cluster
        grep -q reqnctapercluster $s/art/$f-b$b-sm_90a-ch/kernels.ptx || rm -rf $s/art/$f-b$b-sm_90a-ch
      fi
    done
  done
  # softmax rows of 1000 and 1001 classes (a warp a row: its ordered sum spans 32 chunks, the
  # last one partial), tables of ONNX Runtime's form for input scale 0.07
  for spec in "3 1000 ui8" "5 1001 i8"; do
    set -- $spec
    mkdir -p build/onnx/softmax$2
    python3 - "$1" "$2" "$3" > build/onnx/softmax$2/model.mlir <<'PY'
import math, struct, sys
n, c, e = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
f32 = lambda v: struct.unpack('f', struct.pack('f', v))[0]
shift = max(0.0, math.log(f32(3.4028234663852886e38 / c)) - 5.0) / f32(0.07)
table = [f32(math.exp((i - 255 + shift) * f32(0.07))) for i in range(256)]
tab = ", ".join(repr(v) for v in table)
ty = f"tensor<{n}x{c}x{e}>"
print(f'func.func @softmax(%x: {ty}) -> tensor<{n}x{c}xui8> {{')
print(f'  %y = "qnn.softmax"(%x) {{layout = "NC", scale = 256.0 : f32, table = array<f32: {tab}>, zero_point = 0 : i64}} : ({ty}) -> tensor<{n}x{c}xui8>')
print(f'  return %y : tensor<{n}x{c}xui8>')
print('}')
PY
    for t in sm_80 sm_90a; do opt build/onnx/softmax$2 $t softmax$2-$t; done
  done
  if [ "${EXTRAS:-1}" = 1 ]; then
  # grouped and depthwise convs of odd shapes (batch,in,size,out,kernel,stride,padding groups bits)
  i=0
  for spec in "3,32,13,32,3,1,1 32 8" "2,24,9,48,3,2,1 24 4" "5,64,7,64,5,1,2 64 8" "1,12,11,18,3,1,0 6 8" \
              "4,96,14,96,3,2,1 96 8" "2,40,6,40,1,1,0 8 4" "7,16,17,16,3,1,1 16 4" "3,8,5,16,3,1,1 2 8"; do
    set -- $spec
    target/release/nibble-gen conv --shape "$1" --groups "$2" --bits "$3" --seed $i -o build/onnx/grouped$i > /dev/null
    for t in sm_80 sm_90a; do opt build/onnx/grouped$i $t grouped$i-$t; done
    i=$((i + 1))
  done
  # channel concats of odd splits (batch,lhs channels,rhs channels,height,width elem layout),
  # 4-bit words straddling the boundary included
  i=0
  for spec in "3,5,13,7,9 ui4 NCHW" "2,16,8,5,5 i4 NHWC" "1,3,1,1,1 ui4 NCHW" "4,24,40,6,6 ui8 NCHW" "2,7,9,3,11 i8 HWNC"; do
    set -- $spec
    IFS=, read -r n a c h w <<< "$1"
    mkdir -p build/onnx/concat$i
    python3 - "$n" "$a" "$c" "$h" "$w" "$2" "$3" > build/onnx/concat$i/model.mlir <<'PY'
import sys
n, a, c, h, w = map(int, sys.argv[1:6]); e, l = sys.argv[6], sys.argv[7]
def ty(ch):
    dims = {"NCHW": (n, ch, h, w), "NHWC": (n, h, w, ch), "HWNC": (h, w, n, ch)}[l]
    return "tensor<" + "x".join(map(str, dims)) + "x" + e + ">"
print(f'func.func @concat(%a: {ty(a)}, %b: {ty(c)}) -> {ty(a + c)} {{')
print(f'  %y = "qnn.concat"(%a, %b) {{layout = "{l}"}} : ({ty(a)}, {ty(c)}) -> {ty(a + c)}')
print(f'  return %y : {ty(a + c)}')
print('}')
PY
    for t in sm_80 sm_90 sm_90a; do opt build/onnx/concat$i $t concat$i-$t; done
    i=$((i + 1))
  done
  # a mul by a channel scale and a 4-bit lookup (lit_tests/Conversion/TcconvToGpu/mul-lookup.mlir's
  # networks as qnn)
  mkdir -p build/onnx/mul build/onnx/lookup4
  printf '%s\n' 'func.func @mul(%x: tensor<3x6x5x7xi8>, %s: tensor<3x6x1x1xui8>) -> tensor<3x6x5x7xi32> {' \
    '  %y = "qnn.mul"(%x, %s) {layout = "NCHW"} : (tensor<3x6x5x7xi8>, tensor<3x6x1x1xui8>) -> tensor<3x6x5x7xi32>' \
    '  return %y : tensor<3x6x5x7xi32>' '}' > build/onnx/mul/model.mlir
  printf '%s\n' 'func.func @lookup4(%x: tensor<2x13x5x5xi4>) -> tensor<2x13x5x5xui8> {' \
    '  %y = "qnn.lookup"(%x) {layout = "NCHW", table = array<i32: 200, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15>} : (tensor<2x13x5x5xi4>) -> tensor<2x13x5x5xui8>' \
    '  return %y : tensor<2x13x5x5xui8>' '}' > build/onnx/lookup4/model.mlir
  # and a table per channel (three channels of ui4)
  mkdir -p build/onnx/lookupc
  printf '%s\n' 'func.func @lookupc(%x: tensor<2x3x5x5xui4>) -> tensor<2x3x5x5xi8> {' \
    "  %y = \"qnn.lookup\"(%x) {layout = \"NCHW\", table = array<i32: $(seq -s ', ' -24 23)>} : (tensor<2x3x5x5xui4>) -> tensor<2x3x5x5xi8>" \
    '  return %y : tensor<2x3x5x5xi8>' '}' > build/onnx/lookupc/model.mlir
  for t in sm_80 sm_90a; do
    opt build/onnx/mul $t mul-$t; opt build/onnx/lookup4 $t lookup4-$t; opt build/onnx/lookupc $t lookupc-$t
  done
  # MobileNetV2 224x224: one weights file for every batch (artifacts carry none)
  python3 bench/make_onnx_model.py build/onnx/mobilenet_v2.onnx --arch mobilenet_v2 --batch 8 > /dev/null 2>&1
  mbv2() { # batch target name-suffix [options]: an artifact without weights
    opt build/onnx/mbv2-b$1 $2 mbv2-b$1-$2$3 "${4:-}"
    rm -f $s/art/mbv2-b$1-$2$3/weights.safetensors $s/art/mbv2-b$1-$2$3/reference/weights.safetensors
  }
  for b in 1 8 64; do
    target/release/nibble-gen import build/onnx/mobilenet_v2.onnx --batch $b -o build/onnx/mbv2-b$b > /dev/null
    for t in sm_90 sm_90a; do
      mbv2 $b $t ""
      if [ $t = sm_90 ]; then mbv2 $b $t -sep pads=separate; fi
      # chains of convs over thread-block clusters (batch <= 8)
      if [ $t = sm_90a ] && [ $b -le 8 ]; then mbv2 $b $t -ch chains=cluster; fi
    done
  done
  cp build/onnx/mbv2-b1/weights.safetensors $s/mbv2.weights.safetensors
  fi
  # inputs with NaN / +inf / -inf values (batch 8) for the batch-8 artifacts of these fixtures
  cp models/fixtures/onnx/resnet_u8.nonfinite.input.npy models/fixtures/onnx/mobilenet_qop_s8.nonfinite.input.npy $s/
  tar czf target/onnx-suite.tgz -C target onnx-suite
  du -sh $s target/onnx-suite.tgz ;;
run)
  cd "$(dirname "$0")"
  # every (artifact, input) check, JOBS at a time (the GPU is shared; the CPU reference is the
  # long part); a job's log is kept where it fails
  one() { # dir seed|nonfinite-input
    local d=$1 w=() log
    log=/tmp/check.$(echo "$1 $2" | tr '/ ' '__').log
    case $d in art/mbv2-*) w=(--weights mbv2.weights.safetensors) ;; esac
    case $2 in
    *.npy) ./nibble-run "$d" --input "$2" --check > "$log" 2>&1 ;;
    *) ./nibble-run "$d" "${w[@]}" --seed "$2" --check > "$log" 2>&1 ;;
    esac && echo "PASS $d $2" || { echo "FAIL $d $2"; tail -3 "$log"; }
  }
  export -f one
  {
    for d in art/*; do
      case $d in art/mbv2-*) echo "$d 1" ;; *) for s in 1 2 3; do echo "$d $s"; done ;; esac
    done
    for d in art/resnet_u8-b8-* art/mobilenet_qop_s8-b8-*; do
      [ -d "$d" ] || continue
      f=${d#art/}; f=${f%%-b8-*}
      echo "$d $f.nonfinite.input.npy"
    done
  } | xargs -P "${JOBS:-8}" -L 1 bash -c 'one "$0" "$1"' > /tmp/checks.txt
  grep -v '^PASS' /tmp/checks.txt || true
  pass=$(grep -c '^PASS' /tmp/checks.txt || true); fail=$(grep -c '^FAIL' /tmp/checks.txt || true)
  echo "checked: $pass pass, $fail fail"
  # the built artifacts of these names (the suite's TARGETS decide which exist)
  for a in $(cd art && ls -d resnet_u8-b8-* mobilenet_s8-b64-sm_90a grouped2-sm_90a concat0-sm_90a squeeze_u8-b8-sm_90 inception_u8-b8-sm_90a inception_qop_s8-b64-sm_80 softmax1001-sm_90a shufflenet_u8-b8-sm_90 2> /dev/null); do
    for tool in memcheck racecheck; do
      compute-sanitizer --tool $tool --error-exitcode 9 ./nibble-run art/$a --check > /tmp/san 2>&1 || true
      echo "sanitize $a $tool: $(tail -1 /tmp/san)"
    done
  done
  [ -d art/mbv2-b1-sm_90 ] || exit 0
  for b in 1 8 64; do
    for t in sm_90 sm_90a sm_90-sep sm_90a-ch; do
      [ -d art/mbv2-b$b-$t ] || continue
      echo "nibble mbv2 b$b $t: $(./nibble-run art/mbv2-b$b-$t --weights mbv2.weights.safetensors --bench 200 2>&1 | grep '^bench')"
    done
  done
  python3 torch_baseline.py --models mobilenet_v2 --batches 1,8,64 --workloads /dev/null 2>&1 | grep "torch fp16" || true
  # per-kernel times of MobileNetV2 b64 (Nsight Compute, serialized): where the time goes
  ncu --metrics gpu__time_duration.sum --csv ./nibble-run art/mbv2-b64-sm_90 \
    --weights mbv2.weights.safetensors > /tmp/ncu.csv 2> /dev/null || true
  python3 - <<'PY' || true
import csv, collections
rows = [r for r in csv.reader(open('/tmp/ncu.csv')) if len(r) > 10]
h = rows[0]; k, v, u = h.index('Kernel Name'), h.index('Metric Value'), h.index('Metric Unit')
scale = {'nsecond': 1e-3, 'ns': 1e-3, 'usecond': 1.0, 'us': 1.0, 'msecond': 1e3, 'ms': 1e3}
ks = [(float(r[v].replace(',', '')) * scale.get(r[u], 1.0), r[k]) for r in rows[1:]]
print(f"ncu mbv2 b64: {len(ks)} kernels, {sum(t for t, _ in ks):.1f} us in all")
fam = collections.Counter()
for t, n in ks:
    fam[n.split('_', 2)[-1]] += t
print("ncu by kind:", ", ".join(f"{n} {t:.0f} us" for n, t in fam.most_common()))
for t, n in sorted(ks, reverse=True)[:12]:
    print(f"ncu {t:9.1f} us  {n[:80]}")
PY
  ;;
*) echo "usage: $0 build|run" >&2; exit 1 ;;
esac
