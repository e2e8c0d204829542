#!/usr/bin/env bash
# The A/B table of a GPU suite's bench output (bench/gpu_suite.sh bench, REPEAT rounds):
# per artifact the median of its rounds' medians, and for each other-build artifact (`NAME-label`
# beside `NAME`, from BUILDS / PREV_OPT or VARIANTS) its ratio to NAME.
#   bench/ab_table.sh OUT/bench.txt
set -euo pipefail
awk '
  /^bench [^ ]+: .*median [0-9.]+ ms/ {
    name = $2; sub(/:$/, "", name)
    match($0, /median [0-9.]+ ms/); v = substr($0, RSTART + 7, RLENGTH - 10) + 0
    if (!(name in n)) order[++names] = name
    runs[name, ++n[name]] = v
  }
  function median(name,   k, i, j, t, a) {
    k = n[name]
    for (i = 1; i <= k; i++) a[i] = runs[name, i]
    for (i = 2; i <= k; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
    return (k % 2) ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
  }
  END {
    printf "%-44s %6s %10s %10s %8s\n", "artifact", "rounds", "median ms", "spread", "vs base"
    for (i = 1; i <= names; i++) {
      name = order[i]; m = median(name); lo = hi = runs[name, 1]
      for (j = 2; j <= n[name]; j++) { v = runs[name, j]; if (v < lo) lo = v; if (v > hi) hi = v }
      base = name; sub(/-[a-z][a-z0-9]*$/, "", base)
      ratio = (base != name && (base in n)) ? sprintf("%.4f", m / median(base)) : "-"
      printf "%-44s %6d %10.4f %9.1f%% %8s\n", name, n[name], m, 100 * (hi - lo) / m, ratio
    }
  }' "$1"
