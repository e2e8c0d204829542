#!/usr/bin/env python3
"""Copies an artifact with the programmatic-launch trigger (`griddepcontrol.launch_dependents`)
of chosen kernels moved to right after their `griddepcontrol.wait`, for A/B runs of where each
kernel lets its successor launch:
    bench/move_trigger.py SRC_ARTIFACT DST_ARTIFACT LAUNCH_INDEX...
LAUNCH_INDEX: positions in plan.json's launches (a kernel launched several times changes for
all its launches); ranges as A-B. Kernels that already trigger right after the wait are kept."""
import json, os, re, shutil, sys

src, dst, *which = sys.argv[1:]
idx = set()
for w in which:
    a, _, b = w.partition("-")
    idx.update(range(int(a), int(b or a) + 1))
plan = json.load(open(os.path.join(src, "plan.json")))
names = {plan["launches"][i]["kernel"] for i in idx}
shutil.rmtree(dst, ignore_errors=True)
shutil.copytree(src, dst)
ptx = open(os.path.join(src, "kernels.ptx")).read()
parts = re.split(r"(?=^\.visible \.entry |^\.entry )", ptx, flags=re.M)
out, moved = [], 0
for p in parts:
    m = re.match(r"(?:\.visible )?\.entry (\w+)", p)
    if m and m.group(1) in names and "griddepcontrol.wait;" in p:
        body = p.replace("\tgriddepcontrol.launch_dependents;\n", "")
        body = body.replace("\tgriddepcontrol.wait;\n", "\tgriddepcontrol.wait;\n\tgriddepcontrol.launch_dependents;\n", 1)
        moved += body != p
        p = body
    out.append(p)
open(os.path.join(dst, "kernels.ptx"), "w").write("".join(out))
print(f"{dst}: trigger moved to the wait in {moved} of {len(names)} kernels")
