#!/usr/bin/env python3
"""Random odd-shaped convs through the whole compiler, on every target.

    fuzz/shape_sweep.py [--seed S] [--count N] [--large] [--pools] [--keep DIR]

Each conv (`nibble-gen conv`: batch, channels, map size, kernel, stride, padding, 4 or 8 bits,
sometimes depthwise, a residual-unit tail with a shortcut, a 1x1 conv after it, or a stem tail: a
max pool of its 16-bit map, returned with its requantize) is lowered with `qnn-to-ptx` for every
target (stem tails also with `pool-requantize=second` and `=separate`: the default folds from
batch 16), and on sm_90a also with `kernel=wgmma`, `shortcut-sums=wide` and `chains=cluster`;
ptxas must accept each PTX, and the CPU reference must run the artifact. `--pools` draws stem
tails only. A
failure is printed with its shape and options; the exit status is 1 if any failed. `--large`
takes batches 16-100 and maps up to 56 a side (where the narrow16 maps and streams start) and
skips the CPU reference run. Needs nibble-gen, nibble-opt and nibble-run (on PATH, else
target/release) and ptxas (scripts/find-ptxas.sh).
"""
import argparse
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

def tool(name):
    """A nibble tool: the one on PATH (lit puts the tested build first), else target/release's."""
    return shutil.which(name) or str(ROOT / "target" / "release" / name)

def workdir(keep, prefix):
    """The sweep's working directory: `keep` if given (left in place), else a fresh temporary one."""
    return Path(keep) if keep else Path(tempfile.mkdtemp(prefix=prefix))


def finish(work, keep, summary, failed):
    """Remove the temporary working directory, print the sweep's summary line and exit 1 if
    any case failed."""
    if not keep:
        shutil.rmtree(work, ignore_errors=True)
    print(summary)
    sys.exit(1 if failed else 0)


TARGETS = ["sm_75", "sm_80", "sm_86", "sm_89", "sm_90", "sm_90a"]
SM90A_OPTIONS = ["", " kernel=wgmma", " shortcut-sums=wide", " chains=cluster"]


# What random_conv draws from: batches, channels in, map sizes, channels out, kernels, strides,
# the channels of a 1x1 conv after it and of a shortcut, and the share of draws (past the
# depthwise, pair and shortcut ones) that are stem tails.
SIZES = dict(n=[1, 1, 2, 3, 5, 8, 17, 33],
             c=[1, 2, 3, 4, 5, 7, 8, 12, 16, 24, 31, 32, 48, 64, 96, 100, 128, 256],
             size=[1, 2, 3, 4, 5, 7, 9, 13, 14, 17, 28, 31],
             o=[1, 2, 3, 5, 8, 10, 16, 24, 33, 64, 72, 100, 128, 256],
             k=[1, 1, 3, 3, 5, 7, 2, 4], s=[1, 1, 2, 3], then=[8, 16, 40, 64], shortcut=[16, 32, 64],
             pool=0.55)
LARGE = dict(SIZES, n=[16, 24, 32, 64, 100], size=[3, 7, 14, 15, 28, 29, 56])


def random_conv(rng, sizes=SIZES, pools=False):
    """(shape, bits, extra nibble-gen conv flags) of a random conv drawn from `sizes` (with
    `pools`, always a stem tail)."""
    n = rng.choice(sizes["n"])
    c = rng.choice(sizes["c"])
    size = rng.choice(sizes["size"])
    o = rng.choice(sizes["o"])
    k = rng.choice(sizes["k"])
    s = rng.choice(sizes["s"])
    p = rng.choice([0, k // 2, 1])
    if size + 2 * p < k:
        p = (k - size + 1) // 2 + 1
    bits = rng.choice([4, 8])
    extra = []
    r = rng.random()
    # the branches below take disjoint ranges of r: stem tails [0.45, pool), or every draw
    if pools or 0.45 <= r < sizes["pool"]:
        pk = rng.choice([2, 3])
        extra = ["--pool", f"{pk},{rng.choice([1, 2])},{rng.randrange(pk)}"]
    elif r < 0.15 and c == o:
        extra = ["--groups", str(c)]
    elif r < 0.3 and k == 1 and s == 1:
        extra = ["--then", str(rng.choice(sizes["then"]))]
    elif r < 0.45:
        extra = ["--shortcut", f"{rng.choice(sizes['shortcut'])},{rng.choice([1, 2])}"]
    return f"{n},{c},{size},{o},{k},{s},{p}", bits, extra


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--count", type=int, default=30)
    ap.add_argument("--large", action="store_true")
    ap.add_argument("--keep", help="keep the models and artifacts in this directory")
    ap.add_argument("--pools", action="store_true", help="stem tails only")
    a = ap.parse_args()
    ptxas = subprocess.run([str(ROOT / "scripts" / "find-ptxas.sh")], capture_output=True, text=True).stdout.strip()
    if not ptxas:
        sys.exit("shape_sweep: no ptxas (scripts/setup.sh installs it)")
    work = workdir(a.keep, "shape-sweep-")
    rng = random.Random(a.seed)
    failed = 0

    def fail(what, shape, bits, extra, detail):
        nonlocal failed
        failed += 1
        print(f"FAIL {what} {shape} {bits}-bit {' '.join(extra)}: {detail.strip()[:400]}", flush=True)

    for i in range(a.count):
        shape, bits, extra = random_conv(rng, LARGE if a.large else SIZES, a.pools)
        before = failed
        d = work / str(i)
        shutil.rmtree(d, ignore_errors=True)
        gen = subprocess.run([tool("nibble-gen"), "conv", "--shape", shape, "--bits", str(bits),
                              "--seed", str(i), "-o", str(d)] + extra, capture_output=True, text=True)
        if gen.returncode != 0:
            # a shape nibble-gen rejects (its own checks) is reported, not counted
            print(f"skip {shape} {bits}-bit {' '.join(extra)}: {gen.stderr.strip()[:200]}")
            continue
        # a stem tail (conv, max pool, requantize of the pooled map) also with the requantize in
        # the pool's kernel and apart, on every target (the default decides by the batch)
        pooled = [" pool-requantize=second", " pool-requantize=separate"] if "--pool" in extra else []
        for t in TARGETS:
            for opts in (SM90A_OPTIONS if t == "sm_90a" else [""]) + pooled:
                art = d / ("art-" + t + opts.replace(" ", "_").replace("=", "-"))
                r = subprocess.run([tool("nibble-opt"), str(d / "model.mlir"),
                                    f"--pass-pipeline=builtin.module(qnn-to-ptx{{target={t}{opts}}})",
                                    "--emit=artifact", "--weights", str(d / "weights.safetensors"), "-o", str(art)],
                                   capture_output=True, text=True)
                if r.returncode != 0:
                    fail(f"nibble-opt {t}{opts}", shape, bits, extra, r.stderr)
                    continue
                q = subprocess.run([ptxas, f"-arch={t}", str(art / "kernels.ptx"), "-o", "/dev/null"],
                                   capture_output=True, text=True)
                if q.returncode != 0:
                    fail(f"ptxas {t}{opts}", shape, bits, extra, q.stderr)
        if not a.large:
            c = subprocess.run([tool("nibble-run"), str(d / "art-sm_90a"), "--cpu", "--seed", "3"],
                               capture_output=True, text=True)
            if c.returncode != 0:
                fail("nibble-run --cpu", shape, bits, extra, c.stderr)
        if failed == before:
            print(f"ok {i} {shape} {bits}-bit {' '.join(extra)}", flush=True)
        if not a.keep:
            shutil.rmtree(d, ignore_errors=True)
    finish(work, a.keep, f"shape_sweep: {a.count} convs, {failed} failures", failed)


if __name__ == "__main__":
    main()
