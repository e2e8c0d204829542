#!/usr/bin/env python3
"""Vendor GEMM peers, measured in the same GPU run as nibble (bench/gpu_suite.sh peers).

    python3 bench/peers.py bench/conv_workloads.json [--batches 1,8,64,256] [--plan ART/plan.json ...]

Each conv is timed as the GEMM it becomes under im2col (M = N*OH*OW, N = out channels,
K = C*KH*KW) on cuBLASLt: int8 x int8 -> int32 (`torch._int_mm`) and fp8 e4m3 -> bf16
(`torch._scaled_mm`). The im2col itself, the epilogue (requantize, residual) and every
elementwise op are not counted, so a network's sum is a lower bound for a network built on
these GEMMs: the strongest peer a conv kernel has on this card. Printed per RFC layer and, for
ResNet-50 (torchvision v1.5 shapes, the stride on the 3x3), summed over its 53 convs per batch;
the last line is the JSON of everything.

--plan: an artifact's launch plan; each of its conv launches is timed as the GEMMs it computes
(the conv's and, where the kernel runs one, its shortcut's: M = N*OH*OW of its output, N = out
channels, K = C*KH*KW of each weight, a space-to-depth weight at its source shape), so that
`bench/conv_vs_peers.py` can set every launch of the network beside its peers.
"""
import argparse
import json

import torch


def median_ms(fn, reps=100, warmup=20):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        b.synchronize()
        times.append(a.elapsed_time(b))
    times.sort()
    return times[len(times) // 2]


def gemm_of(n, c, size, o, k, s, p):
    out = (size + 2 * p - k) // s + 1
    return n * out * out, o, c * k * k


def up(x, m):
    return (x + m - 1) // m * m


def int8_ms(m, n, k):
    # _int_mm wants M > 16 and N, K multiples of 8
    a = torch.randint(-8, 8, (max(17, m), up(k, 8)), dtype=torch.int8, device="cuda")
    b = torch.randint(-8, 8, (up(n, 8), up(k, 8)), dtype=torch.int8, device="cuda").t()
    return median_ms(lambda: torch._int_mm(a, b))


def fp8_ms(m, n, k):
    a = torch.randn(up(m, 16), up(k, 16), device="cuda").to(torch.float8_e4m3fn)
    b = torch.randn(up(n, 16), up(k, 16), device="cuda").to(torch.float8_e4m3fn).t()
    one = torch.tensor(1.0, device="cuda")
    return median_ms(lambda: torch._scaled_mm(a, b, scale_a=one, scale_b=one, out_dtype=torch.bfloat16))


def resnet50_convs(n):
    convs = [(n, 3, 224, 64, 7, 2, 3)]
    c, size = 64, 56
    for mid, units, stride in [(64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)]:
        for u in range(units):
            s = stride if u == 0 else 1
            out = (size + 2 - 3) // s + 1
            convs += [(n, c, size, mid, 1, 1, 0), (n, mid, size, mid, 3, s, 1),
                      (n, mid, out, mid * 4, 1, 1, 0)]
            if u == 0:
                convs.append((n, c, size, mid * 4, 1, s, 0))
            c, size = mid * 4, out
    return convs


def plan_gemms(path):
    """[(launch index, kernel, [(M, N, K), ...])] of an artifact's conv launches."""
    plan = json.load(open(path))
    out = []
    for i, l in enumerate(plan["launches"]):
        bufs = [plan["buffers"][a["Buffer"]] for a in l["args"] if "Buffer" in a]
        convs = []
        for a in l["args"]:
            pk = plan["weights"][a["Weight"]].get("packing", {}) if "Weight" in a else {}
            if not pk.get("packing", "").startswith("Conv"):
                continue
            o, c, kh, kw = pk.get("space_to_depth", {}).get("source_dims") or pk["dims"]
            outs = [b for b in bufs if b["dims"][1] == o]
            if outs:
                n, _, oh, ow = outs[-1]["dims"]
                convs.append((n * oh * ow, o, c * kh * kw))
        if convs:
            out.append((i, l["kernel"], convs))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("workloads")
    ap.add_argument("--batches", default="1,8,64,256")
    ap.add_argument("--plan", action="append", default=[])
    args = ap.parse_args()
    res = {"card": torch.cuda.get_device_name(), "torch": torch.__version__, "rfc": [], "resnet50": [],
           "plans": {}}
    for path in args.plan:
        launches = []
        for i, kernel, gemms in plan_gemms(path):
            ti = sum(int8_ms(*g) for g in gemms) * 1e3
            tf = sum(fp8_ms(*g) for g in gemms) * 1e3
            launches.append({"launch": i, "kernel": kernel, "gemms": gemms, "int8_us": ti, "fp8_us": tf})
            print(f"peer {path} launch {i} {kernel} {gemms}: cuBLASLt int8 {ti:.1f} us, fp8 {tf:.1f} us",
                  flush=True)
        res["plans"][path] = launches
    for i, w in enumerate(json.load(open(args.workloads))["workloads"]):
        m, n, k = gemm_of(*w)
        ti, tf = int8_ms(m, n, k), fp8_ms(m, n, k)
        res["rfc"].append({"layer": i, "shape": w, "int8_us": ti * 1e3, "fp8_us": tf * 1e3})
        print(f"peer rfc {i} {tuple(w)}: cuBLASLt int8 {ti * 1e3:.2f} us "
              f"({2 * m * n * k / ti / 1e9:.0f} TOPS), fp8 {tf * 1e3:.2f} us", flush=True)
    for b in [int(x) for x in args.batches.split(",")]:
        ti = tf = ops = 0.0
        for w in resnet50_convs(b):
            m, n, k = gemm_of(*w)
            ti += int8_ms(m, n, k)
            tf += fp8_ms(m, n, k)
            ops += 2 * m * n * k
        res["resnet50"].append({"batch": b, "int8_ms": ti, "fp8_ms": tf, "gops": ops / 1e9})
        print(f"peer resnet50 batch {b}: conv GEMMs on cuBLASLt int8 {ti:.3f} ms "
              f"({b / ti * 1e3:.0f} img/s), fp8 {tf:.3f} ms ({b / tf * 1e3:.0f} img/s), "
              f"{ops / 1e9:.1f} GOP", flush=True)
    print(json.dumps(res))


if __name__ == "__main__":
    main()
