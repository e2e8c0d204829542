#!/usr/bin/env python3
"""SASS instruction counts of an artifact's kernels, optionally against a second artifact.

    python3 bench/sass_count.py ART [BASE] [--arch sm_90a] [--ops N] [--loops] [--tile] [--warps]

ART and BASE are `nibble-opt --emit=artifact` directories (kernels.ptx, plan.json). Each
kernels.ptx is assembled by ptxas (scripts/find-ptxas.sh) for the artifact's target (or
--arch) and disassembled by cuobjdump ($CUOBJDUMP, next to ptxas, or on PATH; PyPI
nvidia-cuda-cuobjdump). A kernel's count is its instructions up to its last EXIT or branch,
so the NOP padding after it is left out; `launches` weights each kernel by the launches of
the artifact's plan. --ops N adds each kernel's N most frequent opcodes (predicates and
modifiers stripped). --loops adds each kernel's loops that issue tensor-core instructions (a
backward branch over MMA / wgmma): a kernel's instructions a tile are its count plus the loop's
body times the trips past the first (K stages a trip: the body's MMAs over one stage's).
--tile (with BASE) counts the instructions a tile of each kernel that is a loop on one side and
unrolled on the other: the loop's trips are the unrolled side's MMAs over the body's (the MMAs
outside the loop the same on both sides), and the total weights each kernel by its launches.
--warps weights each kernel by the warps its launches run (grid x block / 32) instead: the warp
instructions of the whole network (static counts: a loop body counts once, a rarely taken
branch fully), its opcode mix, and the time they take to issue at four a clock on every SM
(--sms, default 132; --ghz, default 1.98: an H100 / H200 SXM).
No GPU is needed: this counts the work a kernel issues, not its time.
"""

import argparse
import collections
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
INSN = re.compile(r"^\s+/\*([0-9a-f]{4,})\*/\s+(.*?)\s*;")
MMA = ("HMMA", "IMMA", "HGMMA", "IGMMA")
FUNC = re.compile(r"^\s+Function : (\S+)")


def tool(name, ptxas):
    env = os.environ.get(name.upper())
    if env:
        return env
    near = os.path.join(os.path.dirname(ptxas), name)
    if os.path.exists(near):
        return near
    found = shutil.which(name)
    if not found:
        sys.exit(f"sass_count: {name} not found (pip install nvidia-cuda-{name}, or set ${name.upper()})")
    return found


def ptxas_path():
    out = subprocess.run([os.path.join(ROOT, "scripts/find-ptxas.sh")], capture_output=True, text=True)
    if out.returncode != 0 or not out.stdout.strip():
        sys.exit("sass_count: ptxas not found (scripts/setup.sh installs it)")
    return out.stdout.strip()


def opcode(insn):
    words = insn.split()
    if words and words[0].startswith("@"):
        words = words[1:]
    return words[0].split(".")[0] if words else ""


def kernels(art, arch, loops=None):
    """{kernel: [opcode, ...]} of the artifact's PTX assembled for `arch`; with a dict `loops`,
    also {kernel: [(body instructions, MMAs in it), ...]} of its MMA loops."""
    ptxas = ptxas_path()
    cuobjdump = tool("cuobjdump", ptxas)
    with tempfile.TemporaryDirectory() as d:
        cubin = os.path.join(d, "k.cubin")
        subprocess.run([ptxas, f"-arch={arch}", os.path.join(art, "kernels.ptx"), "-o", cubin], check=True)
        sass = subprocess.run([cuobjdump, "-sass", cubin], check=True, capture_output=True, text=True).stdout
    out, name, body, text = {}, None, [], []

    def close():
        if name is not None:
            # up to the last EXIT or branch: the rest is alignment padding
            last = max((i for i, op in enumerate(body) if op in ("EXIT", "BRA")), default=len(body) - 1)
            out[name] = body[: last + 1]
            if loops is not None:
                loops[name] = mma_loops(body, text)

    for line in sass.splitlines():
        m = FUNC.match(line)
        if m:
            close()
            name, body, text = m.group(1), [], []
            continue
        m = INSN.match(line)
        if m and name is not None:
            body.append(opcode(m.group(2)))
            text.append((int(m.group(1), 16), m.group(2)))
    close()
    return out


def mma_loops(ops, text):
    """(instructions, MMAs) of each loop body (a backward branch's span) holding MMAs."""
    at = {a: i for i, (a, _) in enumerate(text)}
    found = []
    for i, (a, t) in enumerate(text):
        m = re.search(r"\bBRA\b.*?0x([0-9a-f]+)", t)
        if not m or int(m.group(1), 16) not in at or at[int(m.group(1), 16)] >= i:
            continue
        start = at[int(m.group(1), 16)]
        mmas = sum(1 for op in ops[start : i + 1] if op in MMA)
        if mmas:
            found.append((i - start + 1, mmas))
    return found


def plan(art):
    with open(os.path.join(art, "plan.json")) as f:
        return json.load(f)


def per_tile(ops, loops, twin_ops, twin_loops):
    """Instructions a tile of a kernel with one MMA loop whose twin is unrolled (None where
    neither or both loop)."""
    mma = lambda o: sum(1 for x in o if x in MMA)  # noqa: E731
    if not loops:
        return len(ops) if twin_loops else None
    if twin_loops:
        return None
    body, in_loop = loops[0]
    trips = (mma(twin_ops) - (mma(ops) - in_loop)) / in_loop
    return len(ops) + (trips - 1) * body


def warps(p, ops, top, sms, ghz):
    """Warp instructions of the plan's launches: each kernel's static count x its warps."""
    per = collections.Counter()
    mix = collections.Counter()
    for l in p["launches"]:
        k = l["kernel"]
        n = l["grid"][0] * l["grid"][1] * l["grid"][2] * l["block"][0] * l["block"][1] * l["block"][2]
        w = (n + 31) // 32
        per[k] += len(ops.get(k, [])) * w
        for op, m in collections.Counter(ops.get(k, [])).items():
            mix[op] += m * w
    total = sum(per.values())
    width = max(len(k) for k in per) if per else 10
    print(f"{'kernel':<{width}}  warp instructions")
    for k, n in per.most_common():
        print(f"{k:<{width}}  {n / 1e6:>12.1f} M")
    issue_ms = total / (4 * sms * ghz * 1e9) * 1e3
    print(f"{len(p['launches'])} launches: {total / 1e9:.3f} G warp instructions, "
          f"{issue_ms:.2f} ms of issue at 4 a clock on {sms} SMs at {ghz} GHz")
    print("mix: " + ", ".join(f"{op} {100 * m / max(total, 1):.1f}%" for op, m in mix.most_common(top)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("art")
    ap.add_argument("base", nargs="?")
    ap.add_argument("--arch", help="ptxas -arch (default: the artifact's target)")
    ap.add_argument("--ops", type=int, default=0, help="show each kernel's N most frequent opcodes")
    ap.add_argument("--loops", action="store_true", help="show each kernel's loops over MMAs")
    ap.add_argument("--tile", action="store_true", help="instructions a tile where one side loops")
    ap.add_argument("--warps", action="store_true", help="weight each kernel by its launches' warps")
    ap.add_argument("--sms", type=int, default=132, help="SMs, for --warps' issue time")
    ap.add_argument("--ghz", type=float, default=1.98, help="SM clock, for --warps' issue time")
    a = ap.parse_args()
    p = plan(a.art)
    arch = a.arch or p["target"]
    loops = {} if a.loops or a.tile else None
    new = kernels(a.art, arch, loops)
    old_loops = {} if a.tile else None
    old = kernels(a.base, arch, old_loops) if a.base else {}
    if a.tile and a.base:
        uses = collections.Counter(l["kernel"] for l in p["launches"])
        tot = [0.0, 0.0]
        print("instructions a tile (kernels that loop on one side only):")
        for k in sorted(new, key=lambda k: -len(new[k])):
            nl, ol = loops.get(k, []), old_loops.get(k, [])
            n = per_tile(new[k], nl, old.get(k, []), ol)
            b = per_tile(old.get(k, []), ol, new[k], nl)
            if n is None or b is None:
                n, b = len(new[k]), len(old.get(k, []))
            elif b:
                print(f"  {k}: {b:.0f} -> {n:.0f} ({100 * (n - b) / b:+.1f}%), {uses.get(k, 0)} launches")
            tot[0] += n * uses.get(k, 0)
            tot[1] += b * uses.get(k, 0)
        print(f"  weighted by launches: {tot[1]:.0f} -> {tot[0]:.0f} ({100 * (tot[0] - tot[1]) / max(tot[1], 1):+.1f}%)")
        return
    if a.warps:
        warps(p, new, a.ops or 12, a.sms, a.ghz)
        return
    uses = collections.Counter(l["kernel"] for l in p["launches"])
    width = max(len(k) for k in new) if new else 10
    head = f"{'kernel':<{width}}  launches  instructions"
    print(head + ("  base  change" if a.base else ""))
    total = [0, 0, 0, 0]  # kernels new / base, launches new / base
    for k in sorted(new, key=lambda k: -len(new[k])):
        n = len(new[k])
        row = f"{k:<{width}}  {uses.get(k, 0):>8}  {n:>12}"
        total[0] += n
        total[2] += n * uses.get(k, 0)
        if a.base:
            b = len(old.get(k, []))
            total[1] += b
            total[3] += b * uses.get(k, 0)
            row += f"  {b:>4}  {100 * (n - b) / b:+.1f}%" if b else "     -"
        print(row)
        if a.ops:
            c = collections.Counter(new[k]).most_common(a.ops)
            print(" " * (width + 2) + " ".join(f"{op}:{m}" for op, m in c))
        for body, mmas in (loops or {}).get(k, []):
            print(" " * (width + 2) + f"loop: {body} instructions, {mmas} MMA")
    line = f"{len(new)} kernels: {total[0]} instructions; weighted by launches: {total[2]}"
    if a.base:
        line += f" (base {total[1]} / {total[3]}: {100 * (total[0] - total[1]) / max(total[1], 1):+.1f}%"
        line += f" / {100 * (total[2] - total[3]) / max(total[3], 1):+.1f}%)"
    print(line)


if __name__ == "__main__":
    main()
