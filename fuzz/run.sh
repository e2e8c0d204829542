#!/usr/bin/env bash
# Build and run every nibble fuzz target (cargo-fuzz / libFuzzer), one at a time.
#
#   fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]      (default 600 s; default all targets)
#
# Toolchain: only stable Rust is installed. cargo-fuzz passes nightly-only flags (-Zsanitizer=...,
# -Cpasses=sancov-module with -Z options), so everything runs with RUSTC_BOOTSTRAP=1, which lets
# stable rustc accept them. AddressSanitizer works on stable x86_64 Linux this way (the runtime
# librustc-stable_rt.asan.a ships with the toolchain); if the ASan build fails anyway, the script
# falls back to `--sanitizer none` (still libFuzzer, coverage-guided, with overflow checks and
# debug assertions). Install cargo-fuzz with `cargo install cargo-fuzz`.
#
# Environment:
#   SANITIZER=address|none   (default address, falling back to none if that build fails)
#   NICE=10                  niceness of the build and the fuzzers
#   JOBS=1                   cargo build jobs
#   RSS_MB=4096              libFuzzer -rss_limit_mb
#   TIMEOUT_S=60             libFuzzer -timeout (seconds per input)
#   MAX_RESTARTS=4           after a crash libFuzzer stops; it is restarted on the rest of the time
#                            budget at most this many times per target
#   NIBBLE_FUZZ_NPY=0        npy_safetensors: skip Tensor::from_npy (fuzz safetensors alone while
#                            a known .npy crash is open)
#   NIBBLE_FUZZ_BASE_ARTIFACT=DIR  plan_artifact: the artifact whose PTX/weights plans load against
#
# Layout (everything but seeds/, regressions/ and the scripts is generated and git-ignored):
#   seeds/<target>/          tiny hand-picked seeds (committed); seeds/mlir for the MLIR targets;
#                            seeds/base_artifact: the PTX/weights plan_artifact loads plans against
#   work/gen/<target>/       seeds generated from lit_tests, models/fixtures, nibble-gen, nibble-opt
#   corpus/<target>/         libFuzzer's growing corpus
#   artifacts/<target>/      crash-*, oom-*, timeout-*, leak-* inputs libFuzzer saved
#   logs/<target>.log        the fuzzer's output
#   regressions/<target>/    crash inputs kept for the record (committed). Before fuzzing, each
#                            is run once through its target: one that still fails is reported
#                            (and makes the exit status 1)
#
# work/gen is made once; `rm -rf fuzz/work/gen` remakes it (e.g. after building the tools at the
# root: the generated models and artifacts need target/release/nibble-gen and nibble-opt).
#
# Prints per target the executions (libFuzzer's stat::number_of_executed_units, summed over
# restarts) and the crash files found; exits 1 if any target produced a new crash file.
set -u
cd "$(dirname "$0")"
FUZZ=$(pwd)
ROOT=$(cd .. && pwd)
export RUSTC_BOOTSTRAP=1
export PYTHONDONTWRITEBYTECODE=1

SECS=${1:-600}
shift || true
ALL_TARGETS=(parse_verify_lower parse_egraph opt_driver pth npy_safetensors plan_artifact onnx_import)
TARGETS=("$@")
[ ${#TARGETS[@]} -eq 0 ] && TARGETS=("${ALL_TARGETS[@]}")
SANITIZER=${SANITIZER:-address}
NICE=${NICE:-10}
JOBS=${JOBS:-1}
RSS_MB=${RSS_MB:-4096}
TIMEOUT_S=${TIMEOUT_S:-60}
MAX_RESTARTS=${MAX_RESTARTS:-4}

mkdir -p logs work/gen corpus artifacts

# ---------------------------------------------------------------------------------------------
# Generated seeds (idempotent: remade only when work/gen/.done is missing)
# ---------------------------------------------------------------------------------------------
gen_seeds() {
    local G=$FUZZ/work/gen T=$FUZZ/work/tmp
    [ -e "$G/.done" ] && return 0
    echo "== generating seeds in work/gen"
    rm -rf "$G" "$T"
    mkdir -p "$G/mlir" "$G/pth" "$G/npy_safetensors" "$G/plan_artifact" "$T"
    # MLIR: every lit input, whole and split at `// -----` (each chunk its own seed)
    while IFS= read -r f; do
        local base
        base=$(echo "${f#"$ROOT"/lit_tests/}" | tr '/' '_')
        cp "$f" "$G/mlir/$base"
        python3 - "$f" "$G/mlir/${base%.mlir}" <<'EOF'
import sys
src, stem = sys.argv[1], sys.argv[2]
chunks, cur = [], []
for line in open(src, encoding="utf-8", errors="replace"):
    if line.lstrip().startswith("// -----"):
        chunks.append("".join(cur)); cur = []
    else:
        cur.append(line)
chunks.append("".join(cur))
if len(chunks) > 1:
    for i, c in enumerate(chunks):
        open(f"{stem}.chunk{i}.mlir", "w").write(c)
EOF
    done < <(find "$ROOT/lit_tests" -name '*.mlir' -size -200k)
    # pth: the fixtures, a small complete ResNet-18 checkpoint
    cp "$ROOT"/models/fixtures/*.pth "$G/pth/" 2>/dev/null
    python3 "$ROOT/models/fixtures/write_hawq_checkpoint.py" --arch resnet18 --width 64 \
        --classes 2 --bits uniform4 --seed 3 -o "$G/pth/narrow64_resnet18.pth" >/dev/null ||
        echo "warning: write_hawq_checkpoint.py failed"
    # npy / safetensors: the fixtures' .npy
    cp "$ROOT"/models/fixtures/*.npy "$G/npy_safetensors/" 2>/dev/null
    cp "$FUZZ/seeds/base_artifact/weights.safetensors" "$G/npy_safetensors/packed.safetensors"
    cp "$FUZZ/seeds/base_artifact/reference/weights.safetensors" "$G/npy_safetensors/qnn.safetensors"
    # plan.json (and PTX text) of the base artifact
    cp "$FUZZ/seeds/base_artifact/plan.json" "$G/plan_artifact/base_plan.json"
    cp "$FUZZ/seeds/base_artifact/kernels.ptx" "$G/plan_artifact/base_kernels.ptx"
    # tools of the main workspace (not built here: run `cargo build --release` at the root)
    local GEN=$ROOT/target/release/nibble-gen OPT=$ROOT/target/release/nibble-opt
    if [ -x "$GEN" ]; then
        "$GEN" example --arch resnet18 --bits w4a4 --no-calibrate -o "$T/ex18" >/dev/null &&
            cp "$T/ex18/model.mlir" "$G/mlir/gen_resnet18_w4a4.mlir"
        "$GEN" example --arch resnet50 --bits w4a4 --no-calibrate --image-size 32 -o "$T/ex50" \
            >/dev/null 2>&1 && cp "$T/ex50/model.mlir" "$G/mlir/gen_resnet50_w4a4_32.mlir"
        if [ -e "$G/pth/narrow64_resnet18.pth" ] &&
            "$GEN" import "$G/pth/narrow64_resnet18.pth" --arch resnet18 --bits w4a4 \
                --image-size 32 -o "$T/imp18" >/dev/null; then
            cp "$T/imp18/model.mlir" "$G/mlir/imported_narrow64_resnet18.mlir"
            cp "$T/imp18/weights.safetensors" "$G/npy_safetensors/imported_narrow64.safetensors"
        fi
    else
        echo "warning: $GEN missing: no generated models among the seeds"
    fi
    if [ -x "$OPT" ]; then
        python3 "$ROOT/lit_tests/tools/nibble-opt/Inputs/make_weights.py" "$T/block_w.safetensors" \
            w:I8:8x8x3x3:-8:7
        "$OPT" "$ROOT/lit_tests/tools/nibble-opt/Inputs/block.mlir" \
            --pass-pipeline='builtin.module(qnn-to-ptx{target=sm_90})' --emit=artifact \
            --weights "$T/block_w.safetensors" -o "$T/art_block" >/dev/null &&
            cp "$T/art_block/plan.json" "$G/plan_artifact/block_plan.json"
        cp "$T/block_w.safetensors" "$G/npy_safetensors/block_w.safetensors"
        if [ -e "$T/imp18/model.mlir" ] &&
            "$OPT" "$T/imp18/model.mlir" --pass-pipeline='builtin.module(qnn-to-ptx{target=sm_90})' \
                --emit=artifact --weights "$T/imp18/weights.safetensors" -o "$T/art_imp18" >/dev/null; then
            cp "$T/art_imp18/plan.json" "$G/plan_artifact/imported_narrow64_plan.json"
        fi
    else
        echo "warning: $OPT missing: no generated artifacts among the seeds"
    fi
    rm -rf "$T"
    touch "$G/.done"
}

# seed directories (read-only inputs after the corpus) and -max_len of a target
seed_dirs() {
    case $1 in
    parse_verify_lower | parse_egraph | opt_driver) echo "seeds/mlir work/gen/mlir" ;;
    *) echo "seeds/$1 work/gen/$1" ;;
    esac
}
max_len() {
    case $1 in
    parse_verify_lower | parse_egraph | opt_driver) echo 131072 ;;
    pth) echo 400000 ;;
    npy_safetensors) echo 65536 ;;
    plan_artifact) echo 65536 ;;
    esac
}
# opt_driver calls run_opt, which leaks one MLIR context (~5 MB) per call by design: it runs in
# libFuzzer's fork mode (-fork=1), whose jobs are restarted when they reach -rss_limit_mb
# (-ignore_ooms=1), with leak checking off; its oom-* files are that leak, not findings (the
# summary lists them apart). The same code minus run_opt's chunking and annotation handling runs
# leak-free in parse_verify_lower.
extra_flags() {
    case $1 in
    opt_driver) echo "-fork=1 -ignore_ooms=1 -ignore_timeouts=0 -ignore_crashes=0 -detect_leaks=0" ;;
    *) echo "" ;;
    esac
}
asan_options() {
    case $1 in
    opt_driver) echo "detect_leaks=0" ;;
    *) echo "${ASAN_OPTIONS:-}" ;;
    esac
}

gen_seeds

# ---------------------------------------------------------------------------------------------
# Build
# ---------------------------------------------------------------------------------------------
build() {
    echo "== cargo fuzz build --sanitizer $1 (logs/build.log)"
    CARGO_BUILD_JOBS=$JOBS nice -n "$NICE" cargo fuzz build --sanitizer "$1" >logs/build.log 2>&1
}
if ! build "$SANITIZER"; then
    if [ "$SANITIZER" != none ]; then
        echo "warning: the $SANITIZER build failed (tail of logs/build.log below); retrying with --sanitizer none"
        tail -5 logs/build.log
        SANITIZER=none
        build none || { tail -30 logs/build.log; exit 2; }
    else
        tail -30 logs/build.log
        exit 2
    fi
fi

# ---------------------------------------------------------------------------------------------
# Run
# ---------------------------------------------------------------------------------------------
declare -A EXECS NEW LEAKOOM STILL
status=0
BIN=target/x86_64-unknown-linux-gnu/release
for t in "${TARGETS[@]}"; do
    # known crash inputs first: do they still fail?
    STILL[$t]=""
    if [ -d "regressions/$t" ]; then
        for f in "regressions/$t"/*; do
            [ -f "$f" ] || continue
            if ! ASAN_OPTIONS=$(asan_options "$t") nice -n "$NICE" timeout "$((TIMEOUT_S * 2))" \
                "$BIN/$t" -rss_limit_mb="$RSS_MB" -timeout="$TIMEOUT_S" -artifact_prefix=work/regression- "$f" >"logs/regression.$t.$(basename "$f").log" 2>&1; then
                STILL[$t]+="$f "
                status=1
            fi
        done
    fi
    mkdir -p "corpus/$t" "artifacts/$t"
    dirs=()
    for d in $(seed_dirs "$t"); do [ -d "$d" ] && dirs+=("$d"); done
    before=$(ls "artifacts/$t" | sort)
    log=logs/$t.log
    : >"$log"
    start=$(date +%s)
    execs=0
    runs=0
    while :; do
        left=$((SECS - ($(date +%s) - start)))
        [ "$left" -le 0 ] && break
        echo "== $t: run $((runs + 1)), ${left}s left (sanitizer $SANITIZER)" | tee -a "$log"
        from=$(wc -l <"$log")
        # shellcheck disable=SC2046
        ASAN_OPTIONS=$(asan_options "$t") nice -n "$NICE" cargo fuzz run --sanitizer "$SANITIZER" "$t" "corpus/$t" "${dirs[@]}" -- \
            -max_total_time="$left" -rss_limit_mb="$RSS_MB" -timeout="$TIMEOUT_S" \
            -max_len="$(max_len "$t")" -print_final_stats=1 \
            -artifact_prefix="$FUZZ/artifacts/$t/" $(extra_flags "$t") >>"$log" 2>&1
        rc=$?
        runs=$((runs + 1))
        # this run's final stats (libFuzzer prints them on exit and on a crash)
        n=$(tail -n +"$((from + 1))" "$log" | grep -a 'stat::number_of_executed_units' | tail -1 | awk '{print $2}')
        # fork mode: the parent's last "#N: cov: ..." line counts every job's executions
        [ -z "$n" ] && n=$(tail -n +"$((from + 1))" "$log" | grep -aE '^#[0-9]+: cov:' | tail -1 | sed -E 's/^#([0-9]+):.*/\1/')
        execs=$((execs + ${n:-0}))
        [ "$rc" -eq 0 ] && break
        if [ "$runs" -gt "$MAX_RESTARTS" ]; then
            echo "== $t: stopping after $runs runs that ended in a finding" | tee -a "$log"
            break
        fi
        if [ -z "$n" ]; then
            echo "== $t: the fuzzer exited ($rc) without stats: see $log" | tee -a "$log"
            break
        fi
    done
    after=$(ls "artifacts/$t" | sort)
    new=$(comm -13 <(echo "$before") <(echo "$after") | grep -v '^$' || true)
    EXECS[$t]=$execs
    if [ "$t" = opt_driver ]; then
        LEAKOOM[$t]=$(printf '%s\n' "$new" | grep '^oom-' || true)
        new=$(printf '%s\n' "$new" | grep -v '^oom-' | grep -v '^$' || true)
    fi
    NEW[$t]=$new
    [ -n "$new" ] && status=1
done

echo
echo "== summary (${SECS}s per target, sanitizer $SANITIZER)"
for t in "${TARGETS[@]}"; do
    n=$(printf '%s\n' "${NEW[$t]}" | grep -c . || true)
    printf '%-20s executions %-10s new crash files %s\n' "$t" "${EXECS[$t]}" "$n"
    for f in ${STILL[$t]}; do
        rl="logs/regression.$t.$(basename "$f").log"
        echo "    still fails: $f ($rl): $(grep -a -m1 -A1 'panicked at' "$rl" | tr '\n' ' ')"
    done
    for f in ${NEW[$t]}; do
        echo "    artifacts/$t/$f"
    done
    if [ -n "${LEAKOOM[$t]:-}" ]; then
        echo "    ($(printf '%s\n' "${LEAKOOM[$t]}" | grep -c .) oom-* files: run_opt's per-call context leak, not counted)"
    fi
done
exit $status
