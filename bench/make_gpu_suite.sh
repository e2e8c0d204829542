#!/usr/bin/env bash
# Builds, on this (GPU-less) machine, everything the GPU suite needs, into target/gpu-suite:
# the MLIR-free nibble-run and nibble-gen, and artifacts (PTX + launch plan + reference model)
# without weights: bench/gpu_suite.sh regenerates the deterministic weights on the GPU machine
# with nibble-gen, so the carried directory stays small.
#   MODELS="resnet50:w4a4 ..." BATCHES="1 8" TARGETS="sm_90 sm_80" RANDOM_CONVS=50 [AB=1] [EXTRA=...]
#   [HAWQ="resnet18:uniform4 resnet50b:mixed ..."] [HAWQ_BATCHES="1 8"] [RANDOM_WGMMA=50] bench/make_gpu_suite.sh
# RANDOM_VARIANTS=1 builds the VARIANTS of the random convs too (`randN-TARGET-label`);
# RANDOM_CLUSTER=N adds random late-layer convs whose staged kernel splits K across a cluster;
# RANDOM_POOL=N random convs to 4-bit followed by a max pool (the pool over packed words);
# RANDOM_POOL_SECOND=N random stem tails (`nibble-gen conv --pool`: a conv to an i16 map, a max
# pool of it, returned as it is and requantized to 4 or 8 bits) on every target in TARGETS, each
# also with the requantize in the pool's kernel (`-ps`: pool-requantize=second, the graph
# lowered without the e-graph);
# RANDOM_SHORTCUT=N random residual-unit tails (a conv plus a strided 1x1 shortcut conv of a
# second input), the shortcut run in the conv's kernel (staged; on sm_90a also wgmma);
# WG_MODELS=1 adds sm_90a model artifacts with convert-qnn-to-tcconv{kernel=wgmma} (`-wg`);
# WS_MODELS=1 adds sm_90a model artifacts with kernel=wgmma_ws (the warp-specialized persistent
# wgmma kernel wherever it applies, `-ws`); the RANDOM_WGMMA convs and the RFC layers also get
# `-ws` artifacts through it;
# AB=1 adds sm_90 artifacts of the models and RFC layers with the register-only conv kernels
# (`-regs`, convert-qnn-to-tcconv{kernel=mma}) for an A/B comparison in the same call;
# SIMPLE_MODELS="resnet18-w4a4-b1-sm_90 ..." adds those model artifacts with
# convert-qnn-to-tcconv{kernel=simple} (`-simple`: every conv on the CUDA-core family);
# PREV_OPT=path/to/other/nibble-opt adds model, random-conv and random-wgmma-conv artifacts
# built by that binary (`-prev`) for the targets in PREV_TARGETS (default sm_90);
# BUILDS="bp:path/to/nibble-opt sq:path ..." does so for each binary (`-bp`, `-sq`, ...); an
# artifact whose PTX is byte-identical to this build's is left out (named in identical.txt);
# other builds also build the VARIANTS of each model they build (`-pd-bp` against `-pd`);
# bench/build_other.sh REV builds the nibble-opt of another revision and prints its path;
# VARIANTS="pd:pools=dense sc:shortcuts=separate wn:kernel=wgmma+streams=narrow16 ..." (`+`
# between the options of one variant) adds, for the models, the EXTRA models and
# the HAWQ checkpoints, artifacts built with those convert-qnn-to-tcconv options (`-pd`, ...);
# RAISE="1 2" adds, for the sm_90 / sm_90a models and EXTRA models, their PTX with each conv
# kernel built for that many resident blocks an SM more (`-r1`, `-r2`: bench/occupancy.py --raise);
# FILL=1 adds their PTX with each conv kernel built for the most blocks ptxas assembles it for
# without a spill (`-fill`: bench/occupancy.py --fill);
# SWEEP_TILES="32x32x128 64x64x128 ..." adds the RFC layers with each forced block tile (`-tBMxBNxBK`);
# SWEEP_WGMMA="128x128x128 128x256x128 ..." adds the sm_90a EXTRA models with every conv the
# wgmma kernel takes on that forced tile (BM x BN x K bytes a stage, `-wBMxBNxBK`).
set -euo pipefail
cd "$(dirname "$0")/.."
models=${MODELS:-resnet50:w4a4 resnet50:w8a8 resnet18:w4a4 resnet18:w8a8}
batches=${BATCHES:-1 8 16 64}
targets=${TARGETS:-sm_90 sm_80}
nrandom=${RANDOM_CONVS:-50}
suite=target/gpu-suite
rm -rf "$suite" && mkdir -p "$suite/bin" "$suite/art" build/suite
cargo build --release -p nibble-opt -p nibble-gen
CARGO_TARGET_DIR=target/gpu cargo build --release -p nibble-run -p nibble-gen --no-default-features
cp target/gpu/release/nibble-run target/gpu/release/nibble-gen "$suite/bin/"
opt=target/release/nibble-opt
gen=target/release/nibble-gen
manifest=$suite/manifest.txt
: > "$manifest"

emit() { # name model_dir target [kernel] [tile] [options] [pipeline]: an artifact without
  # weights (regenerated on the GPU machine); kernel = auto (qnn-to-ptx) | mma (register-only
  # conv kernels, for A/B runs) | simple; tile = BMxBNxBK forces convert-qnn-to-tcconv's block
  # tile (tile-model sweeps); options: more convert-qnn-to-tcconv options (VARIANTS); pipeline:
  # the whole pass pipeline instead
  local pipe="qnn-to-ptx{target=$3}"
  if [ "${4:-auto}" != auto ] || [ -n "${5:-}" ] || [ -n "${6:-}" ]; then
    local kernel=" kernel=${4:-auto}"
    [[ "${6:-}" == *kernel=* ]] && kernel="" # the variant names the kernel
    pipe="qnn-verify,qnn-egraph-optimize{target=$3},convert-qnn-to-tcconv{target=$3$kernel${5:+ tile=$5}${6:+ $6}},convert-tcconv-to-gpu{target=$3}"
  fi
  pipe=${7:-$pipe}
  $opt "$2/model.mlir" --pass-pipeline="builtin.module($pipe)" --emit=artifact \
    --weights "$2/weights.safetensors" -o "$suite/art/$1" > /dev/null
  rm -f "$suite/art/$1/weights.safetensors" "$suite/art/$1/reference/weights.safetensors"
}

# other nibble-opt builds, for A/B in one run: BUILDS="label:path ..." and PREV_OPT=path (label prev)
builds="${BUILDS:-}${PREV_OPT:+ prev:$PREV_OPT}"
other_builds() { # name model_dir target manifest-tail [kernel]: the artifacts of the other
  # builds (`-label`), built like `name` (its kernel option, if any). One whose PTX is
  # byte-identical to `name`'s is left out (and counted): it would only repeat its runs.
  [[ " ${PREV_TARGETS:-sm_90} " == *" $3 "* ]] || return 0
  local b v
  for b in $builds; do
    opt=${b#*:} emit "$1-${b%%:*}" "$2" "$3" "${5:-auto}"
    keep_if_differs "$1" "${b%%:*}" "$4"
    for v in ${VARIANTS:-}; do # and its VARIANTS (`-variant-label`, compared with `-variant`)
      [ -d "$suite/art/$1-${v%%:*}" ] || continue
      v=${v//+/ }; opt=${b#*:} emit "$1-${v%%:*}-${b%%:*}" "$2" "$3" auto "" "${v#*:}"
      keep_if_differs "$1-${v%%:*}" "${b%%:*}" "$4"
    done
  done
}
keep_if_differs() { # base label manifest-tail: artifact base-label into the manifest, or (its
  # PTX byte-identical to base's) removed and named in identical.txt
  if cmp -s "$suite/art/$1/kernels.ptx" "$suite/art/$1-$2/kernels.ptx"; then
    rm -rf "${suite:?}/art/$1-$2"; echo "$1-$2" >> "$suite/identical.txt"
  else
    echo "$1-$2 $3" >> "$manifest"
  fi
}

builds_for() { # variant target: whether a VARIANTS entry builds for the target (wgmma is sm_90a's alone)
  [[ "$1" != *kernel=wgmma* || "$2" == sm_90a ]]
}
variants() { # name model_dir target manifest-tail: the VARIANTS artifacts of one model
  for v in ${VARIANTS:-}; do
    v=${v//+/ }
    builds_for "$v" "$3" || continue
    emit "$1-${v%%:*}" "$2" "$3" auto "" "${v#*:}"
    echo "$1-${v%%:*} $4" >> "$manifest"
  done
  # RAISE="1 2": its PTX with each conv kernel built for that many resident blocks more
  [[ "$3" == sm_90* ]] || return 0
  for n in ${RAISE:-}; do
    python3 bench/occupancy.py "$suite/art/$1" --raise "$n" -o "$suite/art/$1-r$n" > /dev/null
    echo "$1-r$n $4" >> "$manifest"
  done
  if [[ -n "${FILL:-}" ]]; then
    python3 bench/occupancy.py "$suite/art/$1" --fill -o "$suite/art/$1-fill" > /dev/null
    echo "$1-fill $4" >> "$manifest"
  fi
}

for m in $models; do
  arch=${m%%:*}; bits=${m##*:}
  for b in $batches; do
    d=build/suite/$arch-$bits-b$b
    $gen example --arch "$arch" --bits "$bits" --batch "$b" --seed 0 -o "$d" > /dev/null
    for t in $targets; do
      name=$arch-$bits-b$b-$t
      emit "$name" "$d" "$t"
      echo "$name model $arch $bits $b $t" >> "$manifest"
      variants "$name" "$d" "$t" "model $arch $bits $b $t"
      if [ "$t" = sm_90 ] && [ -n "${AB:-}" ]; then # the register-only conv kernels, for A/B
        emit "$name-regs" "$d" "$t" mma
        echo "$name-regs model $arch $bits $b $t" >> "$manifest"
      fi
      if [ "$t" = sm_90a ] && [ -n "${WG_MODELS:-}" ]; then # wgmma wherever it applies, for A/B
        emit "$name-wg" "$d" "$t" wgmma
        echo "$name-wg model $arch $bits $b $t" >> "$manifest"
      fi
      if [ "$t" = sm_90a ] && [ -n "${WS_MODELS:-}" ]; then # warp-specialized wgmma, for A/B
        emit "$name-ws" "$d" "$t" wgmma_ws
        echo "$name-ws model $arch $bits $b $t" >> "$manifest"
      fi
      if [[ " ${SIMPLE_MODELS:-} " == *" $arch-$bits-b$b-$t "* ]]; then # the CUDA-core kernels only
        emit "$name-simple" "$d" "$t" simple
        echo "$name-simple model $arch $bits $b $t" >> "$manifest"
      fi
      other_builds "$name" "$d" "$t" "model $arch $bits $b $t"
    done
  done
done

# EXTRA="resnet50:w4a4:256 ...": more (arch, bits, batch) for EXTRA_TARGETS only (default sm_90;
# large batches)
for e in ${EXTRA:-}; do
  IFS=: read -r arch bits b <<< "$e"
  d=build/suite/$arch-$bits-b$b
  $gen example --arch "$arch" --bits "$bits" --batch "$b" --seed 0 -o "$d" > /dev/null
  for t in ${EXTRA_TARGETS:-sm_90}; do
    emit "$arch-$bits-b$b-$t" "$d" "$t"; echo "$arch-$bits-b$b-$t model $arch $bits $b $t" >> "$manifest"
    variants "$arch-$bits-b$b-$t" "$d" "$t" "model $arch $bits $b $t"
    if [ "$t" = sm_90a ] && [ -n "${WG_MODELS:-}" ]; then
      emit "$arch-$bits-b$b-$t-wg" "$d" "$t" wgmma; echo "$arch-$bits-b$b-$t-wg model $arch $bits $b $t" >> "$manifest"
    fi
    if [ "$t" = sm_90a ] && [ -n "${WS_MODELS:-}" ]; then
      emit "$arch-$bits-b$b-$t-ws" "$d" "$t" wgmma_ws; echo "$arch-$bits-b$b-$t-ws model $arch $bits $b $t" >> "$manifest"
    fi
    other_builds "$arch-$bits-b$b-$t" "$d" "$t" "model $arch $bits $b $t"
    if [ "$t" = sm_90a ]; then # the wgmma kernel with forced tiles, to calibrate its tile model
      for tile in ${SWEEP_WGMMA:-}; do
        emit "$arch-$bits-b$b-$t-w$tile" "$d" "$t" wgmma "$tile"
        echo "$arch-$bits-b$b-$t-w$tile model $arch $bits $b $t" >> "$manifest"
      done
    fi
  done
done

# HAWQ checkpoints as HAWQ writes them (models/fixtures/write_hawq_checkpoint.py, no
# torch): imported with nibble-gen import, shipped with their weights and a float input .npy;
# checked as float input -> float logits against the CPU reference. HAWQ="" skips them.
mkdir -p "$suite/inputs"
for h in ${HAWQ-resnet18:uniform4 resnet18:mixed resnet50:uniform4 resnet50b:mixed resnet101b:mixed resnet18:pow2 resnet18:wide}; do
  arch=${h%%:*}; kind=${h##*:}
  case $kind in
    mixed) flags="--bits mixed" ;; pow2) flags="--pow2-scales" ;; wide) flags="--wide-residuals" ;; *) flags="" ;;
  esac
  for b in ${HAWQ_BATCHES:-1 8}; do
    d=build/suite/hawq-$arch-$kind-b$b
    mkdir -p "$d"
    python3 models/fixtures/write_hawq_checkpoint.py --arch "$arch" $flags --seed 5 \
      -o "$d/ckpt.pth" --bit-config-out "$d/bits.json" --input-out "$d/input.npy" \
      --batch "$b" --image-size 64 > /dev/null
    $gen import "$d/ckpt.pth" --arch "$arch" --bits "$d/bits.json" --batch "$b" --image-size 64 -o "$d/model" > /dev/null
    for t in $targets; do
      name=hawq-$arch-$kind-b$b-$t
      $opt "$d/model/model.mlir" --pass-pipeline="builtin.module(qnn-to-ptx{target=$t})" --emit=artifact \
        --weights "$d/model/weights.safetensors" -o "$suite/art/$name" > /dev/null
      cp "$d/input.npy" "$suite/inputs/$name.npy"
      echo "$name hawq $arch $kind $b $t" >> "$manifest"
      for v in ${VARIANTS:-}; do
        v=${v//+/ }
        builds_for "$v" "$t" || continue
        $opt "$d/model/model.mlir" --weights "$d/model/weights.safetensors" --emit=artifact \
          --pass-pipeline="builtin.module(qnn-verify,qnn-egraph-optimize{target=$t},convert-qnn-to-tcconv{target=$t ${v#*:}},convert-tcconv-to-gpu{target=$t})" \
          -o "$suite/art/$name-${v%%:*}" > /dev/null
        cp "$d/input.npy" "$suite/inputs/$name-${v%%:*}.npy"
        echo "$name-${v%%:*} hawq $arch $kind $b $t" >> "$manifest"
      done
    done
  done
done

# The RFC's ten conv workloads (batch 8) and random configurations (odd batches, channel counts
# that are not multiples of 8/32, stride 2, 1x1/3x3/7x7, padding), W4A4 and W8A8.
convs=$(python3 -c "import json; print(' '.join(','.join(map(str, w)) for w in json.load(open('bench/conv_workloads.json'))['workloads']))")
i=0
for s in $convs; do
  for t in $targets; do
    d=build/suite/rfc$i; $gen conv --shape "$s" --bits 4 --seed "$i" -o "$d" > /dev/null
    emit "rfc$i-w4a4-$t" "$d" "$t"; echo "rfc$i-w4a4-$t conv $s 4 $i $t" >> "$manifest"
    if [ "$t" = sm_90 ] && [ -n "${AB:-}" ]; then
      emit "rfc$i-w4a4-$t-regs" "$d" "$t" mma; echo "rfc$i-w4a4-$t-regs conv $s 4 $i $t" >> "$manifest"
    fi
    if [ "$t" = sm_90 ]; then # staged kernel with forced block tiles, to calibrate the tile model
      for tile in ${SWEEP_TILES:-}; do
        emit "rfc$i-w4a4-$t-t$tile" "$d" "$t" auto "$tile"
        echo "rfc$i-w4a4-$t-t$tile conv $s 4 $i $t" >> "$manifest"
      done
    fi
  done
  i=$((i + 1))
done
awk -v n="$nrandom" 'BEGIN { srand(20261127);
  split("1 3 5 8 16", B); split("3 8 24 40 64 72 96 128", C); split("8 16 24 40 64 96", O); split("1 3 7", K);
  for (i = 0; i < n; i++) {
    b = B[int(rand()*5)+1]; c = C[int(rand()*8)+1]; o = O[int(rand()*6)+1]; k = K[int(rand()*3)+1];
    s = int(rand()*2)+1; p = int(rand()*(k/2+1)); h = k + int(rand()*12) + 1; bits = (rand() < 0.5) ? 4 : 8;
    printf "%d %d,%d,%d,%d,%d,%d,%d %d\n", i, b, c, h, o, k, s, p, bits } }' |
while read -r i s bits; do
  for t in $targets; do
    d=build/suite/rand$i; $gen conv --shape "$s" --bits "$bits" --seed "$((100 + i))" -o "$d" > /dev/null
    emit "rand$i-$t" "$d" "$t"; echo "rand$i-$t conv $s $bits $((100 + i)) $t" >> "$manifest"
    other_builds "rand$i-$t" "$d" "$t" "conv $s $bits $((100 + i)) $t"
    # RANDOM_VARIANTS=1: the VARIANTS of each random conv too
    [ -z "${RANDOM_VARIANTS:-}" ] || variants "rand$i-$t" "$d" "$t" "conv $s $bits $((100 + i)) $t"
    # the register-only tensor-core kernel on the same shapes (the default takes the staged one)
    emit "rand$i-$t-regs" "$d" "$t" mma
    echo "rand$i-$t-regs conv $s $bits $((100 + i)) $t" >> "$manifest"
  done
done
# RANDOM_WGMMA=N random convs of the shapes the sm_90a wgmma kernel takes (4- or 8-bit, 16-byte
# pixel rows, O % 8 == 0; odd batches and sizes, O not a wgmma N, stride 2, 1x1/3x3/5x5),
# built with convert-qnn-to-tcconv{kernel=wgmma} so that every one of them runs through it.
if [[ " $targets " == *" sm_90a "* ]]; then
  awk -v n="${RANDOM_WGMMA:-0}" 'BEGIN { srand(20261203);
    split("1 3 5 8 16 33", B); split("32 64 96 128 160 256", C); split("8 16 24 40 56 64 96 136 200 256", O); split("1 3 5", K);
    for (i = 0; i < n; i++) {
      b = B[int(rand()*6)+1]; c = C[int(rand()*6)+1]; o = O[int(rand()*10)+1]; k = K[int(rand()*3)+1];
      s = int(rand()*2)+1; p = int(rand()*(k/2+1)); h = k + int(rand()*14) + 1; bits = (rand() < 0.5 || c == 32) ? 4 : 8;
      printf "%d %d,%d,%d,%d,%d,%d,%d %d\n", i, b, c, h, o, k, s, p, bits } }' |
  while read -r i s bits; do
    d=build/suite/rwg$i; $gen conv --shape "$s" --bits "$bits" --seed "$((300 + i))" -o "$d" > /dev/null
    emit "rwg$i-sm_90a" "$d" sm_90a wgmma; echo "rwg$i-sm_90a conv $s $bits $((300 + i)) sm_90a" >> "$manifest"
    other_builds "rwg$i-sm_90a" "$d" sm_90a "conv $s $bits $((300 + i)) sm_90a" wgmma
    emit "rwg$i-sm_90a-ws" "$d" sm_90a wgmma_ws; echo "rwg$i-sm_90a-ws conv $s $bits $((300 + i)) sm_90a" >> "$manifest"
  done
  # the RFC layers through wgmma (auto keeps the staged kernel on their batch-8 grids), for A/B
  i=0
  for s in $convs; do
    d=build/suite/rfc$i
    emit "rfc$i-w4a4-sm_90a-wg" "$d" sm_90a wgmma; echo "rfc$i-w4a4-sm_90a-wg conv $s 4 $i sm_90a" >> "$manifest"
    emit "rfc$i-w4a4-sm_90a-ws" "$d" sm_90a wgmma_ws; echo "rfc$i-w4a4-sm_90a-ws conv $s 4 $i sm_90a" >> "$manifest"
    i=$((i + 1))
  done
fi
# RANDOM_CLUSTER=N random late-layer convs at batch 1-3 (grids of a few tiles, long K), which
# the staged kernel on sm_90 splits across the blocks of a thread-block cluster (built with
# split-k=cluster, not the default): odd sizes and
# channel counts, stride 2, 1x1 / 3x3, 4- and 8-bit.
awk -v n="${RANDOM_CLUSTER:-0}" 'BEGIN { srand(20261204);
  split("1 2 3", B); split("160 256 320 512 1024", C); split("24 40 136 200 256 512", O); split("1 3 3", K);
  for (i = 0; i < n; i++) {
    b = B[int(rand()*3)+1]; c = C[int(rand()*5)+1]; o = O[int(rand()*6)+1]; k = K[int(rand()*3)+1];
    s = int(rand()*2)+1; p = (k == 3) ? 1 : 0; h = 3 + int(rand()*9); bits = (rand() < 0.5) ? 4 : 8;
    printf "%d %d,%d,%d,%d,%d,%d,%d %d\n", i, b, c, h, o, k, s, p, bits } }' |
while read -r i s bits; do
  d=build/suite/rcl$i; $gen conv --shape "$s" --bits "$bits" --seed "$((500 + i))" -o "$d" > /dev/null
  emit "rcl$i-sm_90" "$d" sm_90 auto "" "split-k=cluster"; echo "rcl$i-sm_90 conv $s $bits $((500 + i)) sm_90" >> "$manifest"
done
# RANDOM_POOL=N random convs to packed 4-bit (u4 or i4: odd channel counts, so the last word
# of a pixel has padding channels) followed by a max pool of odd size, stride and padding: the
# pool over packed words.
awk -v n="${RANDOM_POOL:-0}" 'BEGIN { srand(20261205);
  split("1 2 5", B); split("32 64", C); split("8 12 20 36 64", O); split("2 3", K);
  for (i = 0; i < n; i++) {
    b = B[int(rand()*3)+1]; c = C[int(rand()*2)+1]; o = O[int(rand()*5)+1]; k = K[int(rand()*2)+1];
    s = int(rand()*2)+1; p = int(rand()*k); h = 5 + int(rand()*10); signed = (rand() < 0.5) ? 1 : 0;
    printf "%d %d,%d,%d,%d,1,1,0 %d %d %d %d\n", i, b, c, h, o, k, s, p, signed } }' |
while read -r i s k st p signed; do
  d=build/suite/rpool$i; $gen conv --shape "$s" --bits 4 --seed "$((700 + i))" -o "$d" > /dev/null
  python3 - "$d/model.mlir" "$k" "$st" "$p" "$signed" <<'PY'
import re, sys
path, k, s, p, signed = sys.argv[1], *map(int, sys.argv[2:])
t = open(path).read()
ret = re.search(r'return (%\d+) : tensor<(\d+)x(\d+)x(\d+)x(\d+)xui4>', t)
v, n, c, h, w = ret.group(1), *map(int, ret.groups()[1:])
oh, ow = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
out = "i4" if signed else "ui4"
if signed:  # the requantize writes i4
    t = t.replace("clamp = array<i64: 0, 15>", "clamp = array<i64: -8, 7>")
    t = t.replace(f"-> tensor<{n}x{c}x{h}x{w}xui4>\n    return", f"-> tensor<{n}x{c}x{h}x{w}xi4>\n    return")
pool = (f'    %pool = "qnn.max_pool2d"({v}) {{kernel = array<i64: {k}, {k}>, layout = "NCHW", '
        f'padding = array<i64: {p}, {p}, {p}, {p}>, strides = array<i64: {s}, {s}>}} : '
        f'(tensor<{n}x{c}x{h}x{w}x{out}>) -> tensor<{n}x{c}x{oh}x{ow}x{out}>\n')
t = t.replace(f"    return {v} : tensor<{n}x{c}x{h}x{w}xui4>", pool + f"    return %pool : tensor<{n}x{c}x{oh}x{ow}x{out}>")
t = re.sub(r'-> tensor<[^>]*> \{', f'-> tensor<{n}x{c}x{oh}x{ow}x{out}> {{', t, count=1)
open(path, "w").write(t)
PY
  for t in $targets; do
    emit "rpool$i-$t" "$d" "$t"; echo "rpool$i-$t conv $s 4 $((700 + i)) $t" >> "$manifest"
  done
done
# RANDOM_POOL_SECOND=N random stem tails: odd batches, channels (some whose 4-bit copy pads
# them, so the fold does not apply), map sizes, windows, strides and paddings; weights as the
# plain conv's (the manifest's `conv` line regenerates them).
awk -v n="${RANDOM_POOL_SECOND:-0}" 'BEGIN { srand(20261208);
  split("1 2 3 5 8", B); split("3 16 32 64", C); split("8 12 20 24 64", O); split("1 3 7", K);
  for (i = 0; i < n; i++) {
    b = B[int(rand()*5)+1]; c = C[int(rand()*4)+1]; o = O[int(rand()*5)+1]; k = K[int(rand()*3)+1];
    h = 5 + int(rand()*24); s = int(rand()*2)+1; pk = 2 + int(rand()*2); ps = int(rand()*2)+1;
    pp = int(rand()*pk); bits = (rand() < 0.5) ? 4 : 8;
    printf "%d %d,%d,%d,%d,%d,%d,%d %d %d,%d,%d\n", i, b, c, h, o, k, s, int(k/2), bits, pk, ps, pp } }' |
while read -r i s bits pool; do
  d=build/suite/rps$i; $gen conv --shape "$s" --bits "$bits" --seed "$((800 + i))" --pool "$pool" -o "$d" > /dev/null
  for t in $targets; do
    emit "rps$i-$t" "$d" "$t"; echo "rps$i-$t conv $s $bits $((800 + i)) $t" >> "$manifest"
    # without the e-graph, which may move the requantize before the pool (the conv's second
    # output and two pools), so that the pool's kernel writes the second output
    emit "rps$i-$t-ps" "$d" "$t" auto "" "" \
      "qnn-verify,convert-qnn-to-tcconv{target=$t pool-requantize=second},convert-tcconv-to-gpu{target=$t}"
    echo "rps$i-$t-ps conv $s $bits $((800 + i)) $t" >> "$manifest"
  done
done
if [ "${RANDOM_CLUSTER:-0}" -gt 0 ]; then
  echo "cluster convs: $(grep -l reqnctapercluster "$suite"/art/rcl*-sm_90/kernels.ptx | wc -l) of ${RANDOM_CLUSTER} split K across a cluster"
fi
# RANDOM_SHORTCUT=N random residual-unit tails: a conv (1x1 or 3x3, odd batches and sizes,
# O not a tile multiple) whose result is added to a 1x1 shortcut conv (stride 1 or 2) of a
# second input, relu, requantize; the staged kernel runs both GEMMs (and on sm_90a the wgmma
# kernel too, `-wg`; `-wgs`: the wgmma kernel with the shortcut apart), 4- and 8-bit.
awk -v n="${RANDOM_SHORTCUT:-0}" 'BEGIN { srand(20261206);
  split("1 3 5 8 16 33", B); split("32 64 128 256", C); split("8 24 40 64 96 136 256", O); split("1 3", K);
  for (i = 0; i < n; i++) {
    b = B[int(rand()*6)+1]; c = C[int(rand()*4)+1]; o = O[int(rand()*7)+1]; k = K[int(rand()*2)+1];
    cs = C[int(rand()*4)+1]; ss = int(rand()*2)+1; h = 3 + int(rand()*12); bits = (rand() < 0.5) ? 4 : 8;
    printf "%d %d,%d,%d,%d,%d,1,%d %d %d,%d\n", i, b, c, h, o, k, int(k/2), bits, cs, ss } }' |
while read -r i s bits sc; do
  d=build/suite/rsc$i; $gen conv --shape "$s" --bits "$bits" --seed "$((900 + i))" --shortcut "$sc" -o "$d" > /dev/null
  for t in $targets; do
    emit "rsc$i-$t" "$d" "$t"; echo "rsc$i-$t sconv $s $bits $((900 + i)) $sc $t" >> "$manifest"
    [ -z "${RANDOM_VARIANTS:-}" ] || variants "rsc$i-$t" "$d" "$t" "sconv $s $bits $((900 + i)) $sc $t"
    if [ "$t" = sm_90a ]; then
      emit "rsc$i-$t-wg" "$d" "$t" wgmma; echo "rsc$i-$t-wg sconv $s $bits $((900 + i)) $sc $t" >> "$manifest"
      # the shortcut a kernel of its own: the wgmma conv reads an i32 residual buffer
      emit "rsc$i-$t-wgs" "$d" "$t" "wgmma shortcuts=separate"
      echo "rsc$i-$t-wgs sconv $s $bits $((900 + i)) $sc $t" >> "$manifest"
    fi
  done
done
# RANDOM_CHAINS=N random conv pairs: a conv (1x1 or 3x3, stride 1 or 2, odd batches <= 9 and
# sizes, O not a tile multiple) then a 1x1 conv of its requantized result, 4- and 8-bit, on
# the Hopper targets of TARGETS with chains=cluster (`-ch`: the pair in one kernel over
# thread-block clusters where the chain kernel takes it) and without.
awk -v n="${RANDOM_CHAINS:-0}" 'BEGIN { srand(20261207);
  split("1 2 3 5 8 9", B); split("32 64 128", C); split("32 64 96 256 512", O); split("1 3", K);
  split("8 40 64 136", T);
  for (i = 0; i < n; i++) {
    b = B[int(rand()*6)+1]; c = C[int(rand()*3)+1]; o = O[int(rand()*5)+1]; k = K[int(rand()*2)+1];
    s = int(rand()*2)+1; h = 2 + int(rand()*14); bits = (rand() < 0.5) ? 4 : 8; t = T[int(rand()*4)+1];
    printf "%d %d,%d,%d,%d,%d,%d,%d %d %d\n", i, b, c, h, o, k, s, int(k/2), bits, t } }' |
while read -r i s bits then; do
  d=build/suite/rch$i; $gen conv --shape "$s" --bits "$bits" --seed "$((1000 + i))" --then "$then" -o "$d" > /dev/null
  for t in $targets; do
    case $t in sm_90|sm_90a) ;; *) continue ;; esac
    emit "rch$i-$t" "$d" "$t"; echo "rch$i-$t tconv $s $bits $((1000 + i)) $then $t" >> "$manifest"
    emit "rch$i-$t-ch" "$d" "$t" auto "" "chains=cluster"; echo "rch$i-$t-ch tconv $s $bits $((1000 + i)) $then $t" >> "$manifest"
  done
done
if [ "${RANDOM_CHAINS:-0}" -gt 0 ]; then
  echo "chained pairs: $(grep -l reqnctapercluster "$suite"/art/rch*-ch/kernels.ptx 2>/dev/null | wc -l) of the -ch artifacts"
fi
tar czf target/gpu-suite.tgz -C target gpu-suite
echo "suite: $(wc -l < "$manifest") artifacts, target/gpu-suite.tgz $(du -h target/gpu-suite.tgz | cut -f1)$(
  [ -f "$suite/identical.txt" ] && echo "; $(wc -l < "$suite/identical.txt") other-build artifacts left out (PTX identical)")"
