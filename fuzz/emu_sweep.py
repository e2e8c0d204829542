#!/usr/bin/env python3
"""Small random conv networks run end to end on the CPU in their compiled form and checked
against the CPU reference, result for result.

    fuzz/emu_sweep.py [--seed S] [--count N] [--target T] [--kernels simple,mma,auto] [--keep DIR]

Each network (`nibble-gen conv`: odd batches, channels, sizes, kernels, strides and paddings, 4 or
8 bits; sometimes depthwise, a residual-unit tail, a 1x1 conv after it, or a stem tail with a max
pool of its 16-bit map, also lowered with `pool-requantize=second` and without the e-graph) is
lowered with `qnn-to-ptx{kernel=simple}` (every conv on the CUDA-core family),
`qnn-to-ptx{kernel=mma}` (the register-only tensor-core family: `mma.sync`, warp shuffles) and
the default selection (the staged family too: `cp.async`, `ldmatrix`, shared memory), every
launch of the artifact runs through `fuzz/artifact_emu.py` (the PTX interpreted, a warp's
collective instructions once all its lanes reach them; a kernel it does not run, such as a
wgmma one, is reported and skipped), and each result must
equal `nibble-run --cpu`'s on the same random input, file for file. Needs nibble-gen,
nibble-opt and nibble-run (on PATH, else target/release).
"""
import argparse
import random
import re
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import artifact_emu  # noqa: E402
import shape_sweep  # noqa: E402
from shape_sweep import finish, tool, workdir  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent

# small enough that every kernel runs through the interpreter in seconds
SMALL = dict(shape_sweep.SIZES, n=[1, 1, 2, 3], c=[1, 3, 4, 8, 12, 16, 32, 64], size=[1, 2, 3, 5, 6, 7],
             o=[1, 3, 8, 10, 16, 24, 64], k=[1, 1, 2, 3, 3], s=[1, 1, 2], then=[8, 5, 16],
             shortcut=[4, 8, 16], pool=0.7)


def random_tail(rng):
    """A residual-unit tail the staged kernel runs with its shortcut GEMM: a conv (1x1 or 3x3)
    plus a 1x1 shortcut conv (stride 1 or 2) of a second input, added, relu, requantize."""
    k = rng.choice([1, 3])
    shape = (f"{rng.choice([1, 2, 3, 5])},{rng.choice([32, 64])},{rng.randint(3, 7)},"
             f"{rng.choice([8, 24, 40, 64, 136])},{k},1,{k // 2}")
    return shape, rng.choice([4, 8]), ["--shortcut", f"{rng.choice([32, 64])},{rng.choice([1, 2])}"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--count", type=int, default=10)
    ap.add_argument("--target", default="sm_90")
    ap.add_argument("--kernels", default="simple,mma,auto",
                    help="convert-qnn-to-tcconv kernel= choices to compile each network with")
    ap.add_argument("--keep")
    ap.add_argument("--net", action="append", default=[], metavar="'SHAPE BITS [nibble-gen conv flags]'",
                    help="check these networks (one each) instead of random ones")
    ap.add_argument("--tails", action="store_true",
                    help="only residual-unit tails of the sizes the staged kernel takes with their shortcut")
    ap.add_argument("--options", default="", help="more qnn-to-ptx options, e.g. shortcut-sums=bounded")
    ap.add_argument("--bigbias", action="store_true",
                    help="push the i32 biases past every kernel's bias limit (bench/scale_biases.py)")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    work = workdir(a.keep, "emu-sweep-")
    failed = runs = skipped = 0
    nets = [(n.split()[0], int(n.split()[1]), n.split()[2:]) for n in a.net]
    for i in range(len(nets) or a.count):
        if nets:
            shape, bits, extra = nets[i]
        else:
            shape, bits, extra = random_tail(rng) if a.tails else shape_sweep.random_conv(rng, SMALL)
        d = work / str(i)
        shutil.rmtree(d, ignore_errors=True)
        g = subprocess.run([tool("nibble-gen"), "conv", "--shape", shape, "--bits", str(bits), "--seed", str(i),
                            "-o", str(d)] + extra, capture_output=True, text=True)
        what = f"{shape} {bits}-bit {' '.join(extra)}"
        if g.returncode != 0:
            print(f"skip {what}: {g.stderr.strip()[:160]}")
            continue
        if a.bigbias:
            w = d / "weights.safetensors"
            subprocess.run([sys.executable, str(ROOT / "bench" / "scale_biases.py"), str(w), str(d / "big.safetensors")],
                           check=True, capture_output=True)
            (d / "big.safetensors").replace(w)
        # random inputs in each argument's type, and the CPU reference's results
        before = failed
        text = (d / "model.mlir").read_text()
        sig = text[text.index("func.func"):text.index("{", text.index("func.func"))]
        inputs = []
        for j, (dims, elem) in enumerate(artifact_emu_args(sig)):
            lo, hi = {"ui4": (0, 15), "ui8": (0, 255), "i4": (-8, 7), "i8": (-128, 127)}[elem]
            total = 1
            for v in dims:
                total *= v
            vals = [rng.randint(lo, hi) for _ in range(total)]
            artifact_emu.write_npy(d / f"x{j}.npy", dims, vals, "<i4")
            inputs.append(d / f"x{j}.npy")
        ref = subprocess.run([tool("nibble-run"), "--cpu", str(d / "model.mlir")]
                             + [f"--input={x}" for x in inputs] + ["-o", str(d / "ref.npy")],
                             capture_output=True, text=True)
        if ref.returncode != 0:
            print(f"FAIL {what}: the CPU reference: {ref.stderr.strip()[:200]}")
            failed += 1
            continue
        opts = f" {a.options}" if a.options else ""
        pipes = [f"qnn-to-ptx{{target={a.target} kernel={kern}{opts}}}" for kern in a.kernels.split(",")]
        if "--pool" in extra:
            pipes.append(f"qnn-verify,convert-qnn-to-tcconv{{target={a.target} kernel=simple "
                         f"pool-requantize=second}},convert-tcconv-to-gpu{{target={a.target}}}")
        for pj, pipe in enumerate(pipes):
            runs += 1
            art = d / f"art{pj}"
            c = subprocess.run([tool("nibble-opt"), str(d / "model.mlir"), f"--pass-pipeline=builtin.module({pipe})",
                                "--emit=artifact", "--weights", str(d / "weights.safetensors"), "-o", str(art)],
                               capture_output=True, text=True)
            if c.returncode != 0:
                print(f"FAIL {what} [{pipe}]: nibble-opt: {c.stderr.strip()[:200]}")
                failed += 1
                continue
            try:
                outs = artifact_emu.run(art, [artifact_emu.read_npy(x) for x in inputs])
            except NotImplementedError as e:  # a kernel family the interpreter does not run
                print(f"skip {what} [{pipe}]: {str(e)[:120]}")
                skipped += 1
                continue
            except Exception as e:  # an access out of bounds, a deadlock, ...
                print(f"FAIL {what} [{pipe}]: emulation: {type(e).__name__}: {str(e)[:200]}")
                failed += 1
                continue
            bad = None
            for k, (shape_k, vals, elem) in enumerate(outs):
                want = d / ("ref.npy" if k == 0 else f"ref.{k}.npy")
                got = d / f"emu{pj}.{k}.npy"
                artifact_emu.write_npy(got, shape_k, vals, "<f4" if elem == "f32" else "<i4")
                if got.read_bytes() != want.read_bytes():
                    _, w = artifact_emu.read_npy(want)
                    e = next((i for i in range(min(len(w), len(vals))) if w[i] != vals[i]), None)
                    bad = f"result {k}: first difference at {e}: {vals[e] if e is not None else '?'} != {w[e] if e is not None else '?'}"
                    break
            if bad:
                print(f"FAIL {what} [{pipe}]: {bad}")
                failed += 1
        if failed == before:
            print(f"ok {i} {what}", flush=True)
    finish(work, a.keep, f"emu_sweep: {len(nets) or a.count} networks, {runs - skipped} runs on "
           f"{a.target} ({skipped} not interpreted), {failed} failures", failed)


def artifact_emu_args(sig):
    """(dims, elem) of each tensor argument of a qnn function signature."""
    head = sig[:sig.index("->")] if "->" in sig else sig
    return [([int(v) for v in m.group(1).split("x")], m.group(2))
            for m in re.finditer(r"tensor<((?:\d+x)+\d+)x(\w+)>", head)]


if __name__ == "__main__":
    main()
