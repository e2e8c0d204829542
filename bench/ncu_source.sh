#!/usr/bin/env bash
# One launch of an artifact under Nsight Compute with source-level counters: where a kernel's
# warps stall, instruction by instruction (SASS), and its throughput sections.
#   bench/ncu_source.sh NIBBLE_RUN ART KERNEL_REGEX OUTDIR [nibble-run args...]
# writes OUTDIR/prof.ncu-rep, OUTDIR/details.csv (sections), OUTDIR/sass.csv (per-instruction
# metrics) and prints the 40 SASS instructions with the most warp-stall samples, with the
# kernel's totals by stall reason.
set -euo pipefail
run=$1 art=$2 k=$3 out=$4
shift 4
mkdir -p "$out"
ncu --section SourceCounters --section WarpStateStats --section SpeedOfLight \
  --section ComputeWorkloadAnalysis --section MemoryWorkloadAnalysis --section Occupancy \
  --section LaunchStats -k "regex:$k" --launch-count 1 -f -o "$out/prof" \
  "$run" "$art" "$@" > "$out/ncu.log" 2>&1 || { tail -20 "$out/ncu.log"; exit 1; }
ncu --import "$out/prof.ncu-rep" --page details --csv > "$out/details.csv"
ncu --import "$out/prof.ncu-rep" --page source --csv --print-source sass > "$out/sass.csv"
python3 - "$out/sass.csv" <<'PY'
import csv, sys, collections
rows = list(csv.reader(open(sys.argv[1])))
h = next(i for i, r in enumerate(rows) if 'Source' in r)
head, body = rows[h], rows[h + 1:]
src = head.index('Source')
samp = [i for i, c in enumerate(head) if c.startswith('Warp Stall Sampling (All')]
reasons = [i for i, c in enumerate(head) if c.startswith('stall_') or c.startswith('smsp__pcsamp')]
def num(v):
    try:
        return float(v.replace(',', ''))
    except ValueError:
        return 0.0
if not samp:
    print('columns:', head)
    sys.exit(0)
s = samp[0]
total = sum(num(r[s]) for r in body if len(r) > s)
print(f"{len(body)} SASS lines, {total:.0f} stall samples")
for r in sorted(body, key=lambda r: -num(r[s]) if len(r) > s else 0)[:40]:
    print(f"{num(r[s]):7.0f} {100 * num(r[s]) / max(total, 1):5.1f}%  {r[src][:110]}")
PY
grep -E '"(Duration|Registers Per Thread|Achieved Occupancy|Issue Slots Busy|No Eligible|Compute \(SM\) Throughput|Memory Throughput|DRAM Throughput|L1/TEX Hit Rate|Eligible Warps Per Scheduler)"' "$out/details.csv" | cut -d, -f13- | head -20 || true
