#!/usr/bin/env python3
"""Registers, spills and resident blocks of an artifact's conv kernels at each occupancy they
could be built for.

    python3 bench/occupancy.py ART [--kernels REGEX] [--most 8] [--arch sm_90a]
    python3 bench/occupancy.py ART --raise N -o OUT [--kernels REGEX]
    python3 bench/occupancy.py ART --fill -o OUT [--kernels REGEX]

ART is a `nibble-opt --emit=artifact` directory (kernels.ptx, plan.json). Each conv kernel is
assembled alone by ptxas -v (scripts/find-ptxas.sh) with its `.minnctapersm` set to 1 .. --most
(what `tcconv.conv2d {blocks_per_sm = N}` asks of it), and each column gives
`registers/spill bytes/blocks`: the registers ptxas gives a thread, the bytes it spills, and
the blocks an SM then holds (H100 / H200: 64 K registers in 256-register warp allocations,
228 KB of shared memory with 1 KB reserved a block, static and the plan's dynamic shared
memory, 2048 threads). `fail`: ptxas cannot build the kernel within that many registers (the
wgmma kernels below their accumulators). The first column marks the family (`wg`: wgmma), then
threads and dynamic shared bytes a block. No GPU is needed.

--raise N writes a copy of ART to OUT whose conv kernels are each built for N blocks an SM more
than they hold now (as ptxas assembles them), where the SM's shared memory and threads allow
it and ptxas can: the A/B artifact for timing occupancy on a GPU (`bench/gpu_suite.sh`), kernel
by kernel in a profile. It prints each kernel's registers, spills and blocks before and after.
--fill builds each instead for the most blocks an SM that ptxas assembles it for without
spilling (no fewer than it holds now).
"""

import argparse
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
SM_REGS, SM_SMEM, RESERVED, SM_THREADS = 65536, 228 * 1024, 1024, 2048


def ptxas_path():
    out = subprocess.run([os.path.join(ROOT, "scripts/find-ptxas.sh")], capture_output=True, text=True)
    if out.returncode != 0 or not out.stdout.strip():
        sys.exit("occupancy: ptxas not found (scripts/setup.sh installs it)")
    return out.stdout.strip()


def assemble(ptxas, arch, text, tmp):
    """ptxas -v of one module: (registers, spill store bytes, static shared bytes) or None."""
    src, out = os.path.join(tmp, "k.ptx"), os.path.join(tmp, "k.cubin")
    with open(src, "w") as f:
        f.write(text)
    r = subprocess.run([ptxas, f"-arch={arch}", "-v", src, "-o", out], capture_output=True, text=True)
    if r.returncode != 0:
        return None
    regs = int(re.search(r"Used (\d+) registers", r.stderr)[1])
    spill = re.search(r"(\d+) bytes spill stores", r.stderr)
    smem = re.search(r"(\d+) bytes smem", r.stderr)
    return regs, int(spill[1]) if spill else 0, int(smem[1]) if smem else 0


def blocks(regs, threads, smem):
    warps = threads // 32
    per_warp = math.ceil(regs * 32 / 256) * 256
    return min(SM_REGS // (per_warp * warps), SM_SMEM // (smem + RESERVED), SM_THREADS // threads)


def with_blocks(body, threads, n):
    """A kernel's PTX built for `n` blocks an SM."""
    if ".minnctapersm" in body:
        return re.sub(r"\.minnctapersm \d+", f".minnctapersm {n}", body, count=1)
    return re.sub(r"(\.maxntid [^\n]*\n)", rf"\1.minnctapersm {n}\n", body, count=1)


def kernel(part, decl):
    """A kernel's name, its text without module-scope declarations, and its threads a block."""
    name = re.match(r"\.visible \.entry (\w+)\(", part)[1]
    body = decl.sub("", part)
    return name, body, int(re.search(r"\.maxntid (\d+)", body)[1])


def raise_blocks(a, parts, head, decl, dynamic, arch, ptxas):
    """Write the --raise / --fill copy of the artifact: each selected kernel's blocks up."""
    out_parts = [parts[0]]
    with tempfile.TemporaryDirectory() as tmp:
        for part in parts[1:]:
            name, body, threads = kernel(part, decl)
            if not re.search(a.kernels, name):
                out_parts.append(part)
                continue
            now = assemble(ptxas, arch, head + body, tmp)
            regs, spill, static = now
            smem = static + dynamic.get(name, 0)
            held = blocks(regs, threads, smem)
            room = min(SM_SMEM // (smem + RESERVED), SM_THREADS // threads)
            new, after = part, now
            # --raise: that many more, as ptxas builds it; --fill: the most without a spill
            targets = range(room, held, -1) if a.fill else [held + a.more]
            for target in targets:
                if target > room:
                    continue
                raised = with_blocks(part, threads, target)
                built = assemble(ptxas, arch, head + decl.sub("", raised), tmp)
                # None: ptxas cannot build it within that many registers
                if built is not None and (not a.fill or built[1] == 0):
                    new, after = raised, built
                    break
            out_parts.append(new)
            print(f"{name:28s} {threads:4d} {regs:3d}/{spill}/{held} -> "
                  f"{after[0]}/{after[1]}/{blocks(after[0], threads, after[2] + dynamic.get(name, 0))}")
    shutil.copytree(a.art, a.out, dirs_exist_ok=True)
    with open(os.path.join(a.out, "kernels.ptx"), "w") as f:
        f.write("".join(out_parts))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("art")
    ap.add_argument("--kernels", default="conv2d", help="regex of the kernel names (default: conv2d)")
    ap.add_argument("--most", type=int, default=8)
    ap.add_argument("--arch", default=None)
    ap.add_argument("--raise", dest="more", type=int, default=0, help="blocks an SM to add (with -o)")
    ap.add_argument("--fill", action="store_true", help="the most blocks without a spill (with -o)")
    ap.add_argument("-o", dest="out", default=None)
    a = ap.parse_args()
    if bool(a.more or a.fill) != bool(a.out) or (a.more and a.fill):
        sys.exit("occupancy: -o goes with one of --raise N and --fill")
    ptx = open(os.path.join(a.art, "kernels.ptx")).read()
    plan = json.load(open(os.path.join(a.art, "plan.json")))
    arch = a.arch or plan.get("target", "sm_90a")
    dynamic = {}
    for launch in plan["launches"]:
        dynamic[launch["kernel"]] = max(dynamic.get(launch["kernel"], 0), launch["shared_bytes"])
    # module-scope declarations (the dynamic shared memory symbol, static arrays) go before
    # every kernel assembled alone
    decl = re.compile(r"^\.(extern|shared|global|const) .*$", re.M)
    parts = re.split(r"(?=^\.visible \.entry )", ptx, flags=re.M)
    head = parts[0] + "".join(m.group(0) + "\n" for m in decl.finditer(ptx))
    ptxas = ptxas_path()
    if a.more or a.fill:
        raise_blocks(a, parts, head, decl, dynamic, arch, ptxas)
        return
    print(f"{'kernel':28s} {'':2s} {'thr':>4s} {'dyn':>6s} " + " ".join(f"{n:>11d}" for n in range(1, a.most + 1)))
    with tempfile.TemporaryDirectory() as tmp:
        for part in parts[1:]:
            name, body, threads = kernel(part, decl)
            if not re.search(a.kernels, name):
                continue
            cells = []
            for n in range(1, a.most + 1):
                r = assemble(ptxas, arch, head + with_blocks(body, threads, n), tmp)
                if r is None:
                    cells.append("fail")
                    continue
                regs, spill, static = r
                cells.append(f"{regs}/{spill}/{blocks(regs, threads, static + dynamic.get(name, 0))}")
            family = "wg" if "wgmma.mma_async" in body else ""
            print(f"{name:28s} {family:2s} {threads:4d} {dynamic.get(name, 0):6d} "
                  + " ".join(f"{c:>11s}" for c in cells), flush=True)


if __name__ == "__main__":
    main()
