#!/usr/bin/env python3
"""Copy an artifact directory (nibble-opt --emit=artifact) into fuzz/seeds/base_artifact with its
PTX cut down to the module header and each `.entry` signature (body `{ ret; }`): all that
Artifact::load reads of the PTX (entry names and parameter sizes), in ~1 KB instead of ~20 KB.

usage: make_base_artifact.py ARTIFACT_DIR OUT_DIR
"""
import os
import re
import shutil
import sys


def strip_ptx(ptx):
    head = [l for l in ptx.splitlines() if l.startswith((".version", ".target", ".address_size"))]
    out = "\n".join(head) + "\n\n"
    for m in re.finditer(r"\.visible\s+\.entry\s+[A-Za-z0-9_$]+\s*\([^)]*\)", ptx):
        out += m.group(0) + "\n{\n\tret;\n}\n\n"
    return out


def main():
    src, dst = sys.argv[1], sys.argv[2]
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(src, dst)
    p = os.path.join(dst, "kernels.ptx")
    with open(p) as f:
        ptx = f.read()
    with open(p, "w") as f:
        f.write(strip_ptx(ptx))


if __name__ == "__main__":
    main()
