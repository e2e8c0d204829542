#!/usr/bin/env python3
"""Run a whole artifact (`nibble-opt --emit=artifact`) on the CPU: every launch of its plan,
in order, through `ptx_emu.py`, on the buffers the plan lays out, with its packed weights and
tables; inputs and outputs as the logical tensors `nibble-run` reads and writes (.npy, int32 or
float32, NCHW / NC).

    fuzz/artifact_emu.py ART --input X.npy [--input ...] -o OUT.npy

Only artifacts of CUDA-core kernels run (`convert-qnn-to-tcconv{kernel=simple}` for the convs):
a tensor-core, shared-memory or barrier instruction stops the run. Results go to OUT.npy,
OUT.1.npy, ... as `nibble-run -o` writes them, so the two compare file for file.
"""
import argparse
import ast
import json
import struct
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import ptx_emu  # noqa: E402

PER_SLOT = {"ui4": 0.5, "i4": 0.5, "ui8": 1, "i8": 1}


def read_npy(path):
    """(shape, flat values) of an int32 / int64 / float32 C-order .npy."""
    b = Path(path).read_bytes()
    if b[:6] != b"\x93NUMPY":
        raise ValueError(f"{path}: not a .npy file")
    hl = struct.unpack("<H", b[8:10])[0] if b[6] == 1 else struct.unpack("<I", b[8:12])[0]
    start = 10 if b[6] == 1 else 12
    h = ast.literal_eval(b[start:start + hl].decode("latin1"))
    if h["fortran_order"]:
        raise ValueError(f"{path}: Fortran order")
    fmt = {"<i4": "i", "<i8": "q", "<f4": "f"}[h["descr"]]
    data = b[start + hl:]
    n = len(data) // struct.calcsize(fmt)
    return list(h["shape"]), list(struct.unpack(f"<{n}{fmt}", data))


def write_npy(path, shape, vals, descr):
    fmt = {"<i4": "i", "<f4": "f"}[descr]
    head = "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }" % (
        descr, "".join(f"{d}, " for d in shape))
    pad = 64 - (10 + len(head) + 1) % 64
    head = head + " " * pad + "\n"
    Path(path).write_bytes(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(head)) + head.encode()
                           + struct.pack(f"<{len(vals)}{fmt}", *vals))


def slot_fn(buf):
    """Slot of logical (n, c, h, w) in a plan buffer (`ActBuffer::slot`) and its stored
    channels, from its dims, layout and bytes."""
    n, c, h, w = buf["dims"]
    cs = round(buf["bytes"] / PER_SLOT.get(buf["elem"], 4) / (n * h * w))
    lay = buf["layout"]
    if lay == "NHWC":
        return lambda b, ch, y, x: ((b * h + y) * w + x) * cs + ch
    if lay == "NCHW":
        return lambda b, ch, y, x: ((b * cs + ch) * h + y) * w + x
    if lay == "HWNC":
        return lambda b, ch, y, x: ((y * w + x) * n + b) * cs + ch
    if lay == "NC":
        return lambda b, ch, y, x: b * cs + ch
    raise NotImplementedError(f"layout {lay}")


def logical(shape):
    """NCHW dims of a logical tensor (2-D: N x C x 1 x 1)."""
    return list(shape) + [1] * (4 - len(shape))


def pack(buf, shape, vals):
    at = slot_fn(buf)
    n, c, h, w = logical(shape)
    out = bytearray(buf["bytes"])
    e = buf["elem"]
    k = 0
    for b in range(n):
        for ch in range(c):
            for y in range(h):
                for x in range(w):
                    v, k = vals[k], k + 1
                    sl = at(b, ch, y, x)
                    if e in ("ui4", "i4"):
                        out[sl // 2] |= (int(v) & 0xF) << (4 * (sl % 2))
                    elif e in ("ui8", "i8"):
                        out[sl] = int(v) & 0xFF
                    elif e == "f32":
                        out[4 * sl:4 * sl + 4] = struct.pack("<f", v)
                    else:
                        out[4 * sl:4 * sl + 4] = (int(v) & 0xFFFFFFFF).to_bytes(4, "little")
    return out


def unpack(buf, shape, data):
    at = slot_fn(buf)
    n, c, h, w = logical(shape)
    e = buf["elem"]
    vals = []
    for b in range(n):
        for ch in range(c):
            for y in range(h):
                for x in range(w):
                    sl = at(b, ch, y, x)
                    if e in ("ui4", "i4"):
                        v = (data[sl // 2] >> (4 * (sl % 2))) & 0xF
                        vals.append(v - 16 if e == "i4" and v > 7 else v)
                    elif e in ("ui8", "i8"):
                        v = data[sl]
                        vals.append(v - 256 if e == "i8" and v > 127 else v)
                    elif e == "f32":
                        vals.append(struct.unpack("<f", data[4 * sl:4 * sl + 4])[0])
                    else:
                        vals.append(int.from_bytes(data[4 * sl:4 * sl + 4], "little", signed=True))
    return vals


def safetensors(path):
    b = Path(path).read_bytes()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n])
    return {k: b[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]]
            for k, v in h.items() if k != "__metadata__"}


def run(art, inputs):
    """Outputs (shape, values) of artifact `art` on the logical `inputs` [(shape, values)]."""
    art = Path(art)
    plan = json.loads((art / "plan.json").read_text())
    ptx = ptx_emu.Module((art / "kernels.ptx").read_text())
    packed = safetensors(art / "weights.safetensors") if (art / "weights.safetensors").exists() else {}
    if len(inputs) != len(plan["inputs"]):
        raise ValueError(f"the network takes {len(plan['inputs'])} inputs, got {len(inputs)}")
    bufs = [bytearray(b["bytes"]) for b in plan["buffers"]]
    for (shape, vals), i in zip(inputs, plan["inputs"]):
        if list(shape) != list(i["shape"]):
            raise ValueError(f"input of shape {shape}, the network's is {i['shape']}")
        bufs[i["buffer"]][:] = pack(plan["buffers"][i["buffer"]], shape, vals)
    weights = []
    for w in plan["weights"]:
        if "constant" in w:
            weights.append(bytearray(b"".join((v & 0xFFFFFFFF).to_bytes(4, "little") for v in w["constant"])))
        elif w["name"] in packed:
            weights.append(bytearray(packed[w["name"]]))
        else:
            raise ValueError(f"weight {w['name']} is not in the artifact's weights.safetensors")
    for la in plan["launches"]:
        args = [bufs[a["Buffer"]] if "Buffer" in a else weights[a["Weight"]] for a in la["args"]]
        ptx.launch(la["kernel"], tuple(la["grid"]), tuple(la["block"]), args, la.get("shared_bytes", 0))
    return [(o["shape"], unpack(plan["buffers"][o["buffer"]], o["shape"], bufs[o["buffer"]]),
             plan["buffers"][o["buffer"]]["elem"]) for o in plan["outputs"]]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("artifact")
    ap.add_argument("--input", action="append", default=[])
    ap.add_argument("-o", dest="output", required=True)
    a = ap.parse_args()
    outs = run(a.artifact, [read_npy(p) for p in a.input])
    o = Path(a.output)
    for k, (shape, vals, elem) in enumerate(outs):
        path = o if k == 0 else o.with_name(f"{o.stem}.{k}{o.suffix}")
        write_npy(path, shape, vals, "<f4" if elem == "f32" else "<i4")
        print(f"wrote {path} {shape} {elem}")


if __name__ == "__main__":
    main()
