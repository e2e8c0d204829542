#!/usr/bin/env bash
# Runs on the GPU machine from the carried target/gpu-suite.tgz (no cargo there): regenerates the
# deterministic weights with nibble-gen, runs every artifact bit-exact against the CPU reference
# (nibble-run --check), compute-sanitizer (memcheck on ResNet-50 batch 8, or SANITIZE), nibble's medians and
# the PyTorch fp16 baseline in the same call. Results go to $OUT (or ./out) and stdout, and all
# of them into one archive beside it ($OUT.tgz).
#   [ONLY=REGEX] [REPEAT=N] [ENVS="label:VAR=value ..."] bench/gpu_suite.sh [check] [sanitize] [bench] [torch] [peers] [ncu] [kernels] [profile] [bigbias]
#   (default: check sanitize bench torch)
# peers: cuBLASLt int8 and fp8 GEMMs of the same convs (bench/peers.py), in the same run;
# PEERS_PLANS="artifact ..." times each conv launch of those artifacts as its GEMMs
# (bench/conv_vs_peers.py OUT ARTIFACT sets them beside the artifact's profile).
# ncu: Nsight Compute on the conv kernel of the RFC layers named in NCU_LAYERS (default
# "rfc0 rfc3 rfc9"; NCU_TARGET, default sm_90, may name a suffixed variant: sm_90a-wg): speed of light, tensor pipe, occupancy, warp stall reasons;
# or, with NCU_ART=artifact, on the first NCU_COUNT conv launches of that network.
# kernels: per-kernel GPU time of the artifacts in KERNEL_ARTS (ncu, one run each; CSV in $OUT),
# with the ncu metrics in KERNEL_METRICS too (comma-separated; bench/kernel_issue.py reads
# instructions, issue and DRAM shares launch by launch).
# profile: per-launch medians (nibble-run --profile, CUDA events) of the artifacts whose names
# match PROFILE (a regex), one profile-NAME.txt each in $OUT.
# bigbias: the artifacts named in BIGBIAS checked bit-exact on weights whose i32 biases
# bench/scale_biases.py pushed past any kernel's bias limit (the general residual sum).
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-out}
mkdir -p "$out"
steps=${*:-check sanitize bench torch}
[ -d target/gpu-suite ] || tar xzf target/gpu-suite.tgz -C target
s=target/gpu-suite
run=$s/bin/nibble-run
gen=$s/bin/nibble-gen
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$out/card.txt"
# ONLY=REGEX: the check and bench steps take the manifest entries whose line matches
man=$out/manifest.txt
grep -E -e "${ONLY:-.}" "$s/manifest.txt" > "$man"

weights() { # arch bits -> path of the regenerated qnn weights
  local d=$s/weights/$1-$2
  [ -f "$d/weights.safetensors" ] || $gen example --arch "$1" --bits "$2" --batch 1 --seed 0 --no-calibrate -o "$d" > /dev/null
  echo "$d/weights.safetensors"
}
convweights() { # name shape bits seed [nibble-gen conv options] -> path of the regenerated
  # weights of a conv network (--shortcut, --then: with a shortcut or a 1x1 conv after it)
  local d=$s/weights/$1
  [ -f "$d/weights.safetensors" ] || $gen conv --shape "$2" --bits "$3" --seed "$4" "${@:5}" -o "$d" > /dev/null
  echo "$d/weights.safetensors"
}
wflag() { # manifest fields -> the --weights flag (generated artifacts ship without weights;
  # imported HAWQ checkpoints ship theirs and run on their float input .npy)
  case "$2" in
    model) echo "--weights $(weights "$3" "$4")" ;;
    conv) echo "--weights $(convweights "$1" "$3" "$4" "$5")" ;;
    sconv) echo "--weights $(convweights "$1" "$3" "$4" "$5" --shortcut "$6")" ;;
    tconv) echo "--weights $(convweights "$1" "$3" "$4" "$5" --then "$6")" ;;
    hawq) echo "--input $s/inputs/$1.npy" ;;
  esac
}

if [[ " $steps " == *" check "* ]]; then
  pass=0; fail=0
  while read -r name kind rest; do
    f=$(wflag "$name" "$kind" $rest)
    [ "$kind" = hawq ] || f="$f --seed 7" # imported checkpoints run on their own input
    log=$(timeout "${CHECK_TIMEOUT:-90}" $run "$s/art/$name" $f --check 2>&1); rc=$?
    printf '== %s (rc %d)\n%s\n' "$name" "$rc" "$log" >> "$out/checks.log"
    if [ "$rc" -eq 0 ]; then
      pass=$((pass + 1)); echo "PASS $name"
    else
      fail=$((fail + 1)); echo "FAIL $name: $(echo "$log" | grep -m1 -E 'error|mismatch')"
    fi
  done < "$man" | tee "$out/conformance.txt"
  echo "conformance: $(grep -c ^PASS "$out/conformance.txt") passed, $(grep -c ^FAIL "$out/conformance.txt") failed"
fi

if [[ " $steps " == *" sanitize "* ]]; then
  # SANITIZE="artifact:tool ...": compute-sanitizer runs (memcheck, racecheck, synccheck)
  for st in ${SANITIZE:-resnet50-w4a4-b8-sm_90:memcheck}; do
    a=${st%%:*}; tool=${st##*:}
    line=$(grep "^$a " "$s/manifest.txt") || { echo "sanitize $a: not in the suite"; continue; }
    f=$(wflag $line)
    set -- $line
    [ "$2" = hawq ] || f="$f --seed 3" # imported checkpoints run on their own input
    NIBBLE_NO_CUDA_GRAPH=1 compute-sanitizer --tool "$tool" --error-exitcode 9 \
      $run "$s/art/$a" $f > "$out/$tool-$a.log" 2>&1
    echo "$tool $a: rc=$? $(grep -m1 'ERROR SUMMARY\|RACECHECK SUMMARY' "$out/$tool-$a.log")"
  done
fi

if [[ " $steps " == *" bench "* ]]; then
  # REPEAT=N rounds over the artifacts (an A/B pair's runs interleave); ab.txt: the median of
  # each artifact's rounds and its ratio to the artifact it varies (bench/ab_table.sh)
  for round in $(seq "${REPEAT:-1}"); do
    while read -r name kind rest; do
      [[ "$name" == *sm_90* ]] || continue # sm_90 and sm_90a (and their A/B variants)
      [[ "$name" == rand* || "$name" == rwg* || "$name" == rsc* ]] && continue # correctness only
      f=$(wflag "$name" "$kind" $rest)
      [ "$kind" = hawq ] || f="$f --seed 1"
      r=$($run "$s/art/$name" $f --bench 200 2>&1 | grep -m1 -i 'median')
      echo "bench $name: $r"
      # ENVS="label:VAR=value[,VAR=value] ...": the same artifact under runtime settings
      # (`NAME-label`, against NAME in ab.txt), e.g. pdl0:NIBBLE_PDL=0
      for ev in ${ENVS:-}; do
        vars=${ev#*:}
        r=$(env ${vars//,/ } $run "$s/art/$name" $f --bench 200 2>&1 | grep -m1 -i 'median')
        echo "bench $name-${ev%%:*}: $r"
      done
    done < "$man"
  done | tee "$out/bench.txt"
  bench/ab_table.sh "$out/bench.txt" | tee "$out/ab.txt"
fi

if [[ " $steps " == *" ncu "* ]] && [ -n "${NCU_ART:-}" ]; then
  # NCU_ART=artifact: the same sections on its first NCU_COUNT (default 12) conv launches
  line=$(grep "^$NCU_ART " "$s/manifest.txt") && {
    f=$(wflag $line)
    NIBBLE_NO_CUDA_GRAPH=1 ncu --kernel-name regex:conv2d --launch-count "${NCU_COUNT:-12}" \
      --section SpeedOfLight --section Occupancy --section WarpStateStats --section MemoryWorkloadAnalysis \
      --section LaunchStats --section SchedulerStats \
      --metrics sm__pipe_tensor_op_imma_cycles_active.avg.pct_of_peak_sustained_active,sm__pipe_tensor_op_gmma_cycles_active.avg.pct_of_peak_sustained_active,dram__bytes.sum \
      $run "$s/art/$NCU_ART" $f --seed 1 > "$out/ncu-$NCU_ART.txt" 2>&1
    echo "ncu $NCU_ART (rc $?):"
    grep -E "^  [a-z_0-9]+.*\(|Duration|Compute \(SM\) Throughput|DRAM Throughput|Achieved Occupancy|Registers Per|pct_of_peak|dram__bytes|Issued Ipc|Shared Memory Configuration Size|Dynamic Shared" \
      "$out/ncu-$NCU_ART.txt" | sed 's/^ */  /'
  }
fi

if [[ " $steps " == *" ncu "* ]] && [ -z "${NCU_ART:-}" ]; then
  for l in ${NCU_LAYERS:-rfc0 rfc3 rfc9}; do
    name=$l-w4a4-${NCU_TARGET:-sm_90}
    line=$(grep "^$name " "$s/manifest.txt") || continue
    f=$(wflag $line)
    NIBBLE_NO_CUDA_GRAPH=1 ncu --kernel-name regex:conv2d --launch-skip 2 --launch-count 1 \
      --section SpeedOfLight --section Occupancy --section WarpStateStats --section ComputeWorkloadAnalysis \
      --metrics sm__inst_executed_pipe_tensor_op_imma.avg.pct_of_peak_sustained_active,sm__pipe_tensor_op_imma_cycles_active.avg.pct_of_peak_sustained_active \
      $run "$s/art/$name" $f --seed 1 --bench 3 > "$out/ncu-$l.txt" 2>&1
    echo "ncu $name (rc $?):"
    grep -E "Duration|Compute \(SM\) Throughput|Memory Throughput|DRAM Throughput|Achieved Occupancy|Theoretical Occupancy|Registers Per|imma|Warp Cycles Per Issued|Issued Ipc|Block Limit" "$out/ncu-$l.txt" | sed 's/^ */  /'
    grep -iE "stall|est\. speedup" "$out/ncu-$l.txt" | head -8 | sed 's/^ */  /'
  done
fi

if [[ " $steps " == *" kernels "* ]]; then
  # per-kernel GPU time (ncu gpu__time_duration, one run, no CUDA graph) of the artifacts in
  # KERNEL_ARTS: which kernels an A/B pair differs in, and (clocks and caches left as they run,
  # not ncu's base clocks and flushed caches) their sum next to the graph's wall time
  for name in ${KERNEL_ARTS:-resnet18-w4a4-b64-sm_90 resnet18-w4a4-b64-sm_90-prev}; do
    line=$(grep "^$name " "$s/manifest.txt") || continue
    f=$(wflag $line)
    NIBBLE_NO_CUDA_GRAPH=1 ncu --clock-control none --cache-control none \
      --metrics gpu__time_duration.sum${KERNEL_METRICS:+,$KERNEL_METRICS} --csv --print-units base \
      $run "$s/art/$name" $f --seed 1 > "$out/kernels-$name.csv" 2> "$out/kernels-$name.err"
    echo "kernels $name (rc $?): $(grep -c gpu__time_duration "$out/kernels-$name.csv") launches, total $(
      awk -F'","' '/gpu__time_duration/ { gsub(/[",]/, "", $NF); t += $NF } END { printf "%.1f us", t / 1000 }' "$out/kernels-$name.csv")"
  done
fi

if [[ " $steps " == *" peers "* ]]; then
  # PEERS_PLANS="artifact ...": also each conv launch of those artifacts as the GEMMs it computes
  plans=()
  for a in ${PEERS_PLANS:-}; do plans+=(--plan "$s/art/$a/plan.json"); done
  python3 bench/peers.py bench/conv_workloads.json --batches "${TORCH_BATCHES:-1,8,16,64,256}" "${plans[@]}" 2>&1 | tee "$out/peers.txt" | grep -v '^{'
fi

if [[ " $steps " == *" torch "* ]]; then
  python3 bench/torch_baseline.py --batches "${TORCH_BATCHES:-1,8,16,64,256}" 2>&1 | tee "$out/torch.txt" | grep -v '^{'
fi

if [[ " $steps " == *" bigbias "* ]]; then
  for a in ${BIGBIAS:-}; do
    line=$(grep "^$a " "$s/manifest.txt") || { echo "bigbias $a: not in the suite"; continue; }
    f=$(wflag $line)
    w=${f#--weights }
    [ "$w" != "$f" ] && [ -f "$w" ] || { echo "bigbias $a: no generated weights"; continue; }
    python3 bench/scale_biases.py "$w" "$out/bigbias-$a.safetensors" > /dev/null
    log=$(timeout "${CHECK_TIMEOUT:-90}" $run "$s/art/$a" --weights "$out/bigbias-$a.safetensors" --seed 5 --check 2>&1)
    echo "bigbias $a (rc $?): $(echo "$log" | grep -m1 -iE 'identical|mismatch|error')"
    rm -f "$out/bigbias-$a.safetensors"
  done
fi

if [[ " $steps " == *" profile "* ]]; then
  while read -r name kind rest; do
    [[ "$name" =~ ${PROFILE:-^$} ]] || continue
    f=$(wflag "$name" "$kind" $rest)
    timeout "${PROFILE_TIMEOUT:-120}" $run "$s/art/$name" $f --seed 1 --profile "${PROFILE_ROUNDS:-20}" \
      > "$out/profile-$name.txt" 2>&1
    echo "profile $name (rc $?): $(tail -n 1 "$out/profile-$name.txt")"
  done < "$man"
fi

# every result of this run in one file (a run's files come back to the build machine more
# reliably as one archive than as dozens of logs)
tar czf "$out.tgz" -C "$out" . && echo "results: $out.tgz"
