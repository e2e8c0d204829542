#!/usr/bin/env python3
"""Every conv launch of a network beside the vendor GEMMs it computes: nibble's per-launch
median (bench/gpu_suite.sh profile) against cuBLASLt int8 and fp8 on the same GEMMs
(bench/peers.py --plan, same GPU call). The issue's bar: every conv faster than cuBLASLt int8.

    python3 bench/conv_vs_peers.py OUT_DIR ARTIFACT [--peers OUT_DIR/peers.txt]

OUT_DIR holds profile-ARTIFACT.txt; the peers file's last line is peers.py's JSON, whose plan
entry for ARTIFACT's plan.json gives the GEMMs of each launch (M x N x K, a kernel with a
shortcut GEMM has two)."""
import argparse
import json
import os
import sys

from wgmma_sweep import profile


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("art")
    ap.add_argument("--peers")
    a = ap.parse_args()
    # the launches in order, so a launch's index is its number
    prof = dict(enumerate(profile(os.path.join(a.out, f"profile-{a.art}.txt"))))
    if not prof:
        sys.exit(f"no profile of {a.art} in {a.out}")
    peers = json.loads(open(a.peers or os.path.join(a.out, "peers.txt")).read().strip().splitlines()[-1])
    plans = [v for k, v in peers.get("plans", {}).items() if f"/{a.art}/" in k]
    if not plans:
        sys.exit(f"the peers file has no plan of {a.art}")
    print(f"card: {peers['card']}")
    print(f"{'launch':>6} {'nibble us':>10} {'int8 us':>9} {'fp8 us':>8} {'nibble/int8':>11}  GEMMs (M x N x K)")
    tot = [0.0, 0.0, 0.0]
    slower = []
    for l in plans[0]:
        i = l["launch"]
        if i not in prof:
            continue
        t = prof[i][1]
        tot[0] += t
        tot[1] += l["int8_us"]
        tot[2] += l["fp8_us"]
        r = t / l["int8_us"]
        if r > 1.0:
            slower.append(i)
        gemms = " + ".join("x".join(str(d) for d in g) for g in l["gemms"])
        print(f"{i:>6} {t:>10.1f} {l['int8_us']:>9.1f} {l['fp8_us']:>8.1f} {r:>11.2f}  {gemms}")
    n = len(plans[0])
    print(f"conv launches: nibble {tot[0] / 1e3:.3f} ms, cuBLASLt int8 {tot[1] / 1e3:.3f} ms, "
          f"fp8 {tot[2] / 1e3:.3f} ms; slower than int8: {len(slower)} of {n} {slower}")


if __name__ == "__main__":
    main()
