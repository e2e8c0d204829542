#!/usr/bin/env python3
"""Tiny hand-made seeds that need a generator (stdlib only; reuses the torch.save writer of
models/fixtures/write_hawq_checkpoint.py):

  seeds/pth/tiny_zip.pth       torch 2.x zip checkpoint: {'arch', 'epoch', 'state_dict'} with an
                               f32, an i64 and a 0-dim tensor, a shared storage and a view
  seeds/pth/tiny_legacy.pth    the same object in the legacy (_use_new_zipfile_serialization=False)
                               stream format
  seeds/npy_safetensors/*.npy  one small .npy per dtype nibble reads (f4 f8 i1 u1 i2 i4 i8), 0-d, 1-d
  seeds/npy_safetensors/*.safetensors  I8/U8/I16/I32/F32 weights

usage: make_seeds.py SEEDS_DIR
"""
import collections
import io
import json
import os
import pickle
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "models", "fixtures"))
import write_hawq_checkpoint as w  # noqa: E402


def tiny_object():
    sd = collections.OrderedDict()
    sd["module.conv1.weight_integer"] = w.Tensor([1.0, -2.0, 3.0, -4.0], [1, 1, 2, 2])
    sd["module.conv1.convbn_scaling_factor"] = w.Tensor([0.5], [1])
    sd["module.conv1.bn.num_batches_tracked"] = w.Tensor([7], [], "LongStorage")
    sd["module.quant_input.act_scaling_factor"] = w.Tensor([0.25], [1])
    sd._metadata = collections.OrderedDict([("", {"version": 1})])
    return {"epoch": 1, "arch": "resnet18", "state_dict": sd,
            "best_acc1": w.Tensor([70.5], [])}


def zip_pth(obj):
    pkl, records = w.pickle_checkpoint(obj, "cpu")
    entries = [("data.pkl", pkl), (".format_version", b"1"), (".storage_alignment", b"64"),
               ("byteorder", b"little")]
    entries += [(f"data/{k}", d) for k, d in records]
    entries += [("version", b"3\n")]
    return w.torch_zip("tiny_zip", entries)


class LegacyPickler(w.TorchPickler):
    def persistent_id(self, obj):
        pid = super().persistent_id(obj)
        return None if pid is None else pid + (None,)


def legacy_pth(obj):
    with w.torch_standins_installed():
        buf = io.BytesIO()
        pickle.dump(0x1950a86a20f9469cfc6c, buf, protocol=2)
        pickle.dump(1001, buf, protocol=2)
        pickle.dump({"protocol_version": 1001, "little_endian": True,
                     "type_sizes": {"short": 2, "int": 4, "long": 4}}, buf, protocol=2)
        p = LegacyPickler(buf, "cpu")
        p.dump(obj)
        pickle.dump([k for k, _ in p.records], buf, protocol=2)
        for k, data in p.records:
            # element count: the storage's numel (records hold raw bytes)
            numel = next(s.numel for s in storages(obj) if s.data is data)
            buf.write(struct.pack("<q", numel) + data)
    return buf.getvalue()


def storages(obj):
    if isinstance(obj, w.Tensor):
        yield obj.storage
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from storages(v)


def npy(descr, shape, raw):
    dims = ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "")
    header = "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }" % (descr, dims)
    header += " " * (-(10 + len(header) + 1) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + raw


def safetensors(tensors):
    header, blobs, off = {}, [], 0
    for name, dtype, shape, data in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


def main():
    out = sys.argv[1]
    os.makedirs(os.path.join(out, "pth"), exist_ok=True)
    os.makedirs(os.path.join(out, "npy_safetensors"), exist_ok=True)
    with open(os.path.join(out, "pth", "tiny_zip.pth"), "wb") as f:
        f.write(zip_pth(tiny_object()))
    with open(os.path.join(out, "pth", "tiny_legacy.pth"), "wb") as f:
        f.write(legacy_pth(tiny_object()))
    n = os.path.join(out, "npy_safetensors")
    for descr, fmt, shape, vals in [
        ("<f4", "<4f", (2, 2), [1.0, -2.5, 0.0, 3.25]),
        ("<f8", "<2d", (2,), [1.0, -1e300]),
        ("|i1", "<3b", (3,), [-128, 0, 127]),
        ("|u1", "<3B", (1, 3), [0, 1, 255]),
        ("<i2", "<2h", (2, 1), [-32768, 32767]),
        ("<i4", "<1i", (), [-7]),
        ("<i8", "<2q", (2,), [2**40, -1]),
    ]:
        name = descr.strip("<|") + "_" + "x".join(map(str, shape or ("scalar",))) + ".npy"
        with open(os.path.join(n, name), "wb") as f:
            f.write(npy(descr, shape, struct.pack(fmt, *vals)))
    with open(os.path.join(n, "weights.safetensors"), "wb") as f:
        f.write(safetensors([
            ("a", "I8", [2, 2], struct.pack("<4b", -8, 7, 0, 1)),
            ("b", "U8", [3], bytes([0, 15, 255])),
            ("c", "I16", [1], struct.pack("<h", -300)),
            ("d", "I32", [2], struct.pack("<2i", 1 << 30, -5)),
            ("e", "F32", [1, 1], struct.pack("<f", 0.125)),
        ]))


if __name__ == "__main__":
    main()
