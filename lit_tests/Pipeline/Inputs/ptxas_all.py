"""Compile models to PTX for targets and assemble with ptxas -v --warning-as-error.

usage: ptxas_all.py PTXAS DIR MODEL... TARGET...   (MODELs are DIR/<model>/model.mlir)
Prints one line per (model, target); writes DIR/<model>-<target>.ptxas.tsv with per-kernel
registers, spill bytes and shared memory (bench/PTXAS.md records them).
"""
import os
import re
import subprocess
import sys

ptxas, root = sys.argv[1], sys.argv[2]
models = [a for a in sys.argv[3:] if not a.startswith("sm_")]
targets = [a for a in sys.argv[3:] if a.startswith("sm_")]
for m in models:
    for t in targets:
        art = os.path.join(root, f"{m}-{t}")
        subprocess.run(["nibble-opt", os.path.join(root, m, "model.mlir"),
                        f"--pass-pipeline=builtin.module(qnn-to-ptx{{target={t}}})", "--emit=artifact",
                        "--weights", os.path.join(root, m, "weights.safetensors"), "-o", art],
                       check=True, capture_output=True)
        r = subprocess.run([ptxas, f"-arch={t}", "-v", "--warning-as-error", os.path.join(art, "kernels.ptx"),
                            "-o", os.path.join(art, "kernels.cubin")], capture_output=True, text=True)
        if r.returncode != 0:
            print(f"{m} {t}: ptxas FAILED: {r.stderr.strip().splitlines()[-1:]}")
            continue
        rows, kernel = [], None
        for line in r.stderr.splitlines():
            k = re.search(r"Compiling entry function '(\w+)'", line)
            if k:
                kernel = k.group(1)
            s = re.search(r"(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads", line)
            if s and kernel:
                rows.append([kernel, 0, 0, int(s.group(2)) + int(s.group(3))])
            u = re.search(r"Used (\d+) registers.*?(?:(\d+) bytes smem)?", line)
            if u and rows and rows[-1][0] == kernel:
                rows[-1][1] = int(u.group(1))
                sm = re.search(r"(\d+) bytes smem", line)
                rows[-1][2] = int(sm.group(1)) if sm else 0
        with open(os.path.join(root, f"{m}-{t}.ptxas.tsv"), "w") as f:
            f.write("kernel\tregisters\tsmem_bytes\tspill_bytes\n")
            for row in rows:
                f.write("\t".join(map(str, row)) + "\n")
        spills = sum(1 for row in rows if "conv2d" in row[0] and row[3] > 0)
        print(f"{m} {t}: ptxas ok, {len(rows)} kernels, {spills} conv kernels spill")
