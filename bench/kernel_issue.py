#!/usr/bin/env python3
"""Per-launch GPU time beside the instructions each launch issued, from `gpu_suite.sh kernels`.

    python3 bench/kernel_issue.py KERNELS.csv [BASE.csv]

KERNELS.csv is ncu's `--csv --print-units base` details page of one run of an artifact with
the metrics `KERNEL_METRICS=smsp__inst_executed.sum,smsp__issue_active.avg.pct_of_peak_sustained_elapsed,dram__throughput.avg.pct_of_peak_sustained_elapsed`
next to `gpu__time_duration.sum`. Each launch's row: its time, the warp instructions it
executed, the share of issue slots that were busy and DRAM's share of its peak: a launch near
100% issue is bound by its instruction count, one near 100% DRAM by its bytes, one low on both
by latency. With BASE.csv (the same network built otherwise), each launch's time and
instructions against the base's, launch by launch, and the sums.
"""

import csv
import sys

TIME = "gpu__time_duration.sum"
INST = "smsp__inst_executed.sum"
ISSUE = "smsp__issue_active.avg.pct_of_peak_sustained_elapsed"
DRAM = "dram__throughput.avg.pct_of_peak_sustained_elapsed"


def launches(path):
    """[(kernel, {metric: value})] in launch order."""
    rows = {}
    with open(path, newline="") as f:
        # ncu prints its own lines (==PROF== ...) before the CSV header
        lines = [l for l in f if l.startswith('"')]
    for r in csv.DictReader(lines):
        try:
            i = int(r["ID"])
            v = float(r["Metric Value"].replace(",", ""))
        except (KeyError, ValueError):
            continue
        name, metrics = rows.setdefault(i, (r.get("Kernel Name", "?"), {}))
        metrics[r["Metric Name"]] = v
    return [rows[i] for i in sorted(rows)]


def short(name):
    # resnet50_hawq_8_conv2d -> 8_conv2d
    parts = name.split("(")[0].split("_")
    return "_".join(parts[-2:]) if len(parts) >= 2 else name


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    new = launches(sys.argv[1])
    base = launches(sys.argv[2]) if len(sys.argv) == 3 else None
    if base is not None and [k for k, _ in base] != [k for k, _ in new]:
        print("note: the two runs launch different kernels; compared launch by launch")
    head = f"{'launch':>6} {'kernel':<14} {'us':>9} {'M inst':>8} {'issue%':>7} {'dram%':>6}"
    if base is not None:
        head += f" {'base us':>9} {'base M':>8} {'time':>7} {'inst':>7}"
    print(head)
    tot = [0.0, 0.0, 0.0, 0.0]
    for i, (k, m) in enumerate(new):
        t = m.get(TIME, 0) / 1e3
        n = m.get(INST, 0) / 1e6
        tot[0] += t
        tot[1] += n
        line = f"{i:>6} {short(k):<14} {t:>9.1f} {n:>8.2f} {m.get(ISSUE, 0):>7.1f} {m.get(DRAM, 0):>6.1f}"
        if base is not None and i < len(base):
            bt = base[i][1].get(TIME, 0) / 1e3
            bn = base[i][1].get(INST, 0) / 1e6
            tot[2] += bt
            tot[3] += bn
            line += f" {bt:>9.1f} {bn:>8.2f} {pct(t, bt):>7} {pct(n, bn):>7}"
        print(line)
    line = f"{'all':>6} {'':<14} {tot[0]:>9.1f} {tot[1]:>8.2f} {'':>7} {'':>6}"
    if base is not None:
        line += f" {tot[2]:>9.1f} {tot[3]:>8.2f} {pct(tot[0], tot[2]):>7} {pct(tot[1], tot[3]):>7}"
    print(line)


def pct(a, b):
    return f"{100 * (a / b - 1):+.1f}%" if b else "-"


if __name__ == "__main__":
    main()
