#!/usr/bin/env python3
"""Per-layer view of a wgmma tile sweep (bench/make_gpu_suite.sh SWEEP_WGMMA=..., then
bench/gpu_suite.sh profile): for every conv launch of a network, its time with the tile model's
choice (the artifact without a suffix) and with each forced tile (`-wBMxBNxBK`), the best, and
how far the model's choice is from it.

    python3 bench/wgmma_sweep.py OUT_DIR resnet50-w4a4-b256-sm_90a [--ir model.tcconv.mlir]

--ir: the network lowered to tcconv (nibble-opt ... convert-qnn-to-tcconv), whose ops are the
launches in order; it names each conv by its shape."""
import argparse
import glob
import os
import re
import sys


def profile(path):
    """[(kernel, microseconds)] in launch order."""
    out = []
    for line in open(path):
        m = re.match(r"profile: launch (\d+) (\S+) median ([0-9.]+) us", line)
        if m:
            out.append((m.group(2), float(m.group(3))))
    return out


def shapes(ir):
    """One description per tcconv op (launch), in order."""
    out = []
    weights = {}
    for line in open(ir):
        w = re.search(r'(%\w+) = "tcconv\.weight"\(\) \{dims = array<i64: ([0-9, ]+)>', line)
        if w:
            weights[w.group(1)] = [int(x) for x in w.group(2).split(", ")]
        m = re.search(r'"tcconv\.(\w+)"\(', line)
        if not m or m.group(1) in ("alloc", "weight"):
            continue
        name = m.group(1)
        desc = name
        if name == "conv2d":
            k = re.search(r"kernel = array<i64: (\d+), (\d+)>", line)
            st = re.search(r"strides = array<i64: (\d+), (\d+)>", line)
            tys = re.search(r":\s*\((.*)\)\s*->", line)
            ins = re.findall(r"memref<([0-9x]+)x(i\d+)>", tys.group(1)) if tys else []
            fam = re.search(r'family = "(\w+)"', line)
            tile = re.search(r"block_tile = array<i64: ([0-9, ]+)>", line)
            res = " +res" if re.search(r'epilogue = "residual"', line) else ""
            ops = re.search(r'"tcconv\.conv2d"\(([^)]*)\)', line).group(1).split(", ")
            oc, ic = weights.get(ops[1], [0, 0])[:2]
            if ins:
                hw = "x".join(ins[-1][0].split("x")[:2])
                desc = (f"{k.group(1)}x{k.group(2)}/s{st.group(1)} {ic}->{oc} ch, out {hw}{res}"
                        f" [{fam.group(1)} {tile.group(1).replace(', ', 'x')}]")
        out.append(desc)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("base")
    ap.add_argument("--ir")
    a = ap.parse_args()
    base = os.path.join(a.out, f"profile-{a.base}.txt")
    auto = profile(base)
    if not auto:
        sys.exit(f"no profile in {base}")
    variants = {}
    for p in sorted(glob.glob(os.path.join(a.out, f"profile-{a.base}-w*.txt"))):
        tile = p[len(base) - 4 + 2 : -4]
        prof = profile(p)
        if len(prof) == len(auto):
            variants[tile] = prof
    desc = shapes(a.ir) if a.ir else []
    print(f"{'launch':>6} {'model us':>9} {'best us':>9} {'best tile':>12} {'model/best':>10}  layer")
    tot_auto = tot_best = 0.0
    off = []
    for i, (kernel, t) in enumerate(auto):
        if "conv2d" not in kernel:
            tot_auto += t
            tot_best += t
            continue
        cands = [("model", t)] + [(v, p[i][1]) for v, p in variants.items()]
        best = min(cands, key=lambda c: c[1])
        tot_auto += t
        tot_best += best[1]
        r = t / best[1]
        if r > 1.10:
            off.append(i)
        d = desc[i] if i < len(desc) else kernel
        print(f"{i:>6} {t:>9.1f} {best[1]:>9.1f} {best[0]:>12} {r:>10.2f}  {d}")
    print(f"sum of medians: model {tot_auto / 1e3:.3f} ms, best tile per layer {tot_best / 1e3:.3f} ms"
          f" ({tot_auto / tot_best:.3f}x); layers > 10% off the best: {len(off)} {off}")
    for v, p in variants.items():
        print(f"  all convs on {v}: {sum(x for _, x in p) / 1e3:.3f} ms")


if __name__ == "__main__":
    main()
