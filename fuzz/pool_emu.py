#!/usr/bin/env python3
"""Random max / average pools whose map is returned and requantized, lowered with
`convert-qnn-to-tcconv{pool-requantize=second}` (one `tcconv.pool2d` writing both) and
`convert-tcconv-to-gpu`; every launch's PTX is run on the CPU by `ptx_emu.py`, and both
results are compared bit for bit, stored bytes and all, with the pool and the requantize
computed here.

    fuzz/pool_emu.py [--seed S] [--count N] [--target sm_90] [--keep DIR]

Each case draws a batch, channels (a multiple of 8, so the 4-bit copy stores them as the map
does), a map size, a window, stride and padding, max or average, an i16 or i32 map, the
second output's type (ui4, i4, ui8, i8), per-tensor or per-channel scales, the rounding and a
zero point; with an i16 map, half of the cases read the map back through a requantize of scale
1 instead, with `maps=narrow16`: the pool stores it in narrow16 (its two end values, which
the inputs draw often, escape into the wide plane). Needs nibble-opt (on PATH, else
target/release).
"""
import argparse
import json
import random
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import artifact_emu  # noqa: E402
import ptx_emu  # noqa: E402
from shape_sweep import finish, tool, workdir  # noqa: E402

RANGE = {"ui4": (0, 15), "i4": (-8, 7), "ui8": (0, 255), "i8": (-128, 127), "i16": (-32768, 32767),
         "i32": (-(1 << 31), (1 << 31) - 1)}


def round_shift(p, c, mode):
    """`semantics::round_shift`: p / 2^c rounded by mode."""
    if c == 0:
        return p
    q = p >> c
    r = p - (q << c)
    half = 1 << (c - 1)
    if mode == "half_to_even":
        return q + 1 if r > half or (r == half and q & 1) else q
    if mode == "half_up":
        return q + 1 if r >= half else q
    return q + 1 if p < 0 and r != 0 else q  # truncate


def arr(kind, v):
    return f"array<{kind}: {', '.join(str(x) for x in v)}>"


def draw(rng):
    n = rng.choice([1, 2, 3])
    c = rng.choice([8, 16, 24, 40, 64])
    h, w = rng.randint(1, 9), rng.randint(1, 9)
    kh, kw = rng.randint(1, 3), rng.randint(1, 3)
    sh, sw = rng.randint(1, 3), rng.randint(1, 3)
    pad = [rng.randint(0, kh - 1), rng.randint(0, kw - 1), rng.randint(0, kh - 1), rng.randint(0, kw - 1)]
    if h + pad[0] + pad[2] < kh or w + pad[1] + pad[3] < kw:
        pad = [kh - 1, kw - 1, kh - 1, kw - 1]
    kind = rng.choice(["max", "max", "avg"])
    map_elem = rng.choice(["i16", "i16", "i32"]) if kind == "max" else "i32"
    second = rng.choice(["ui4", "i4", "ui8", "i8"])
    per_channel = rng.random() < 0.5
    k = c if per_channel else 1
    mult = [rng.randint(1 << 29, (1 << 31) - 1) for _ in range(k)]
    shift = [rng.choice([28, 31, 33, 35, 37]) for _ in range(k)]
    lo, hi = RANGE[second]
    zp = rng.randint(lo // 2, hi // 2)
    clamp = [lo, hi] if rng.random() < 0.7 else [max(lo, zp - 3), min(hi, zp + 5)]
    rounding = rng.choice(["half_to_even", "half_up", "truncate"])
    narrow = map_elem == "i16" and rng.random() < 0.5
    return dict(n=n, c=c, h=h, w=w, k=[kh, kw], s=[sh, sw], pad=pad, kind=kind, map=map_elem,
                second=second, mult=mult, shift=shift, zp=zp, clamp=clamp, rounding=rounding,
                narrow=narrow)


def ir(t):
    """The qnn function: the pool of its argument, returned requantized (first) and as it is
    (second; with `narrow`, through a requantize of scale 1, so that the map stays internal)."""
    n, c, h, w = t["n"], t["c"], t["h"], t["w"]
    oh = (h + t["pad"][0] + t["pad"][2] - t["k"][0]) // t["s"][0] + 1
    ow = (w + t["pad"][1] + t["pad"][3] - t["k"][1]) // t["s"][1] + 1
    t["out"] = [n, c, oh, ow]
    ty = lambda e, d: f"tensor<{'x'.join(str(v) for v in d)}x{e}>"  # noqa: E731
    xt, pt, qt = ty(t["map"], [n, c, h, w]), ty(t["map"], t["out"]), ty(t["second"], t["out"])
    pool = "max_pool2d" if t["kind"] == "max" else "avg_pool2d"
    lines = [
        f'%p = "qnn.{pool}"(%x) {{kernel = {arr("i64", t["k"])}, strides = {arr("i64", t["s"])}, '
        f'padding = {arr("i64", t["pad"])}, layout = "NCHW"}} : ({xt}) -> {pt}',
        f'%q = "qnn.requantize"(%p) {{multiplier = {arr("i32", t["mult"])}, shift = {arr("i32", t["shift"])}, '
        f'clamp = {arr("i64", t["clamp"])}, zero_point = {t["zp"]} : i64, rounding = "{t["rounding"]}", '
        f'layout = "NCHW"}} : ({pt}) -> {qt}',
    ]
    ret = "%p"
    if t["narrow"]:
        lines.append(f'%r = "qnn.requantize"(%p) {{multiplier = array<i32: 1073741824>, shift = array<i32: 30>, '
                     f'clamp = array<i64: -32768, 32767>, zero_point = 0 : i64, rounding = "half_to_even", '
                     f'layout = "NCHW"}} : ({pt}) -> {pt}')
        ret = "%r"
    lines.append(f"return %q, {ret} : {qt}, {pt}")
    return (f"func.func @pool(%x: {xt}) -> ({qt}, {pt}) {{\n  " + "\n  ".join(lines) + "\n}\n")


def reference(t, x):
    """(pooled map, second output) per (n, c, y, x), from the input values x[n][c][h][w]."""
    n, c, oh, ow = t["out"]
    (kh, kw), (sh, sw), pad = t["k"], t["s"], t["pad"]
    pooled, second = {}, {}
    for b in range(n):
        for ch in range(c):
            m = t["mult"][ch % len(t["mult"])]
            s = t["shift"][ch % len(t["shift"])]
            for y in range(oh):
                for xx in range(ow):
                    taps = [x[b][ch][y * sh + i - pad[0]][xx * sw + j - pad[1]]
                            for i in range(kh) for j in range(kw)
                            if 0 <= y * sh + i - pad[0] < t["h"] and 0 <= xx * sw + j - pad[1] < t["w"]]
                    if t["kind"] == "max":
                        v = max(taps)
                    else:  # floor(sum / (kh * kw)), padding counted as zeros
                        v = sum(taps) // (kh * kw)
                    lo, hi = RANGE[t["map"]]
                    v = max(lo, min(hi, v))
                    pooled[b, ch, y, xx] = v
                    q = round_shift(v * m, s, t["rounding"]) + t["zp"]
                    second[b, ch, y, xx] = max(t["clamp"][0], min(t["clamp"][1], q))
    return pooled, second


def run_case(i, t, work, target, rng):
    d = work / str(i)
    d.mkdir(parents=True, exist_ok=True)
    (d / "pool.mlir").write_text(ir(t))
    art = d / "art"
    maps = " maps=narrow16" if t["narrow"] else ""
    r = subprocess.run([tool("nibble-opt"), str(d / "pool.mlir"),
                        "--pass-pipeline=builtin.module(qnn-verify,convert-qnn-to-tcconv{target="
                        f"{target} pool-requantize=second{maps}}},convert-tcconv-to-gpu{{target={target}}})",
                        "--emit=artifact", "-o", str(art)], capture_output=True, text=True)
    if r.returncode != 0:
        return f"nibble-opt: {r.stderr.strip()[:300]}"
    plan = json.loads((art / "plan.json").read_text())
    pools = [la for la in plan["launches"] if la["kernel"].endswith("_pool2d")]
    if len(pools) != 1 or sum("Buffer" in a for a in pools[0]["args"]) != 3:
        return "the requantize did not become the pool's second output"
    if t["narrow"] and not any(b.get("storage") == "narrow16" or b.get("narrow") for b in plan["buffers"]):
        pass  # the plan records storage in the kernels, not here; the IR test covers it
    ptx = ptx_emu.Module((art / "kernels.ptx").read_text())
    lo, hi = RANGE[t["map"]]
    ends = [lo, hi, lo + 1, hi - 1, 0]
    x = [[[[rng.choice(ends) if rng.random() < 0.2 else rng.randint(max(lo, -40000), min(hi, 40000))
            for _ in range(t["w"])] for _ in range(t["h"])] for _ in range(t["c"])] for _ in range(t["n"])]
    bufs = [bytearray(b["bytes"]) for b in plan["buffers"]]
    inb = plan["inputs"][0]["buffer"]
    flat = [v for b in x for ch in b for row in ch for v in row]
    bufs[inb][:] = artifact_emu.pack(plan["buffers"][inb], [t["n"], t["c"], t["h"], t["w"]], flat)
    for la in plan["launches"]:
        args = []
        for a in la["args"]:
            if "Buffer" in a:
                args.append(bufs[a["Buffer"]])
            else:
                table = plan["weights"][a["Weight"]]["constant"]
                args.append(bytearray(b"".join((v & 0xFFFFFFFF).to_bytes(4, "little") for v in table)))
        ptx.launch(la["kernel"], tuple(la["grid"]), tuple(la["block"]), args)
    pooled, second = reference(t, x)
    n, c, oh, ow = t["out"]
    for o, vals in zip(plan["outputs"], [second, pooled]):
        buf = plan["buffers"][o["buffer"]]
        flat = [vals[b, ch, y, xx] for b in range(n) for ch in range(c) for y in range(oh) for xx in range(ow)]
        want = artifact_emu.pack(buf, t["out"], flat)
        got = bufs[o["buffer"]]
        if got != want:
            k = next(j for j in range(len(want)) if got[j] != want[j])
            return f"output buffer {o['buffer']} ({buf['elem']} {buf['layout']}): byte {k}: {got[k]} != {want[k]}"
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--count", type=int, default=20)
    ap.add_argument("--target", default="sm_90")
    ap.add_argument("--keep", help="keep the IR files and artifacts in this directory")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    work = workdir(a.keep, "pool-emu-")
    failed = 0
    for i in range(a.count):
        t = draw(rng)
        err = run_case(i, t, work, a.target, rng)
        desc = (f'{t["kind"]} {t["map"]}{" narrow16" if t["narrow"] else ""} -> {t["second"]} '
                f'n{t["n"]} c{t["c"]} {t["h"]}x{t["w"]} k{t["k"]} s{t["s"]} p{t["pad"]} '
                f'{t["rounding"]} {"per-channel" if len(t["mult"]) > 1 else "per-tensor"}')
        if err:
            failed += 1
            print(f"FAIL {i} {desc}: {err}", flush=True)
        else:
            print(f"ok {i} {desc}", flush=True)
    finish(work, a.keep, f"pool_emu: {a.count} pools on {a.target}, {failed} failures", failed)


if __name__ == "__main__":
    main()
