#!/usr/bin/env python3
"""Writes a copy of a weights file whose i32 bias tensors are pushed far from their values, to
run a kernel's general (saturating) residual sum on the GPU against the CPU reference:

    python3 bench/scale_biases.py IN.safetensors OUT.safetensors [--names REGEX]

Channel c of every I32 tensor whose name ends in `.bias` (and matches REGEX) gets, by c % 5:
+2^26, -2^26, +2^22, -2^22, or keeps its value, so a group of channels mixes biases within
and beyond a kernel's bias limit. Only the standard library: safetensors is an 8-byte header
length, a JSON header, then the raw little-endian data.
"""

import argparse
import json
import re
import struct


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("src")
    ap.add_argument("dst")
    ap.add_argument("--names", default=".")
    a = ap.parse_args()
    raw = open(a.src, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    data = bytearray(raw[8 + n :])
    push = [1 << 26, -(1 << 26), 1 << 22, -(1 << 22), None]
    changed = 0
    for name, t in header.items():
        if name == "__metadata__" or t["dtype"] != "I32" or not name.endswith(".bias"):
            continue
        if not re.search(a.names, name):
            continue
        lo, hi = t["data_offsets"]
        for c in range((hi - lo) // 4):
            v = push[c % 5]
            if v is not None:
                struct.pack_into("<i", data, lo + 4 * c, v)
        changed += 1
    with open(a.dst, "wb") as f:
        f.write(raw[: 8 + n])
        f.write(data)
    print(f"scale_biases: {changed} bias tensors pushed beyond their limits -> {a.dst}")


if __name__ == "__main__":
    main()
