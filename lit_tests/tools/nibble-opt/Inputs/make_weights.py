#!/usr/bin/env python3
"""Write a small safetensors file of deterministic integer weights (stdlib only).

usage: make_weights.py OUT.safetensors NAME:DTYPE:SHAPE:LO:HI ...
  DTYPE  I8 | U8 | I32 (how nibble stores i4/i8, ui4/ui8, i32 weights)
  SHAPE  e.g. 8x8x3x3; values cycle through [LO, HI] with a fixed stride.
"""
import json
import struct
import sys

FMT = {"I8": ("b", 1), "U8": ("B", 1), "I32": ("<i", 4)}


def main():
    out, specs = sys.argv[1], sys.argv[2:]
    header, blobs, off = {}, [], 0
    for spec in specs:
        name, dtype, shape, lo, hi = spec.split(":")
        dims = [int(d) for d in shape.split("x")]
        lo, hi = int(lo), int(hi)
        n = 1
        for d in dims:
            n *= d
        fmt, width = FMT[dtype]
        span = hi - lo + 1
        vals = [lo + (i * 7 + 3) % span for i in range(n)]
        data = b"".join(struct.pack(fmt, v) for v in vals)
        header[name] = {"dtype": dtype, "shape": dims, "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(out, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


if __name__ == "__main__":
    main()
