#!/usr/bin/env python3
"""The GPU suite's output as data, tables and a plot.

    results.py collect OUT... --commit C --command CMD -o results.json
        Read the files bench/gpu_suite.sh writes into $OUT (card.txt, conformance.txt,
        bench.txt, torch.txt, peers.txt, compute-sanitizer logs, per-kernel ncu CSVs) of one
        GPU run (several OUT folders of the same run are merged) into one JSON record.
    results.py render results.json [--plot throughput.png]
        Print the Markdown tables of RESULTS.md for that record and draw images/s against batch
        (nibble per precision, PyTorch fp16 from the same run) with matplotlib.

Only numbers measured in that run appear; nothing is carried over from other runs.
"""
import argparse
import csv
import json
import os
import re
import sys

BENCH = re.compile(r"^bench (\S+): .*median ([0-9.]+) ms, p90 ([0-9.]+) ms")
TORCH_MODEL = re.compile(r"^torch fp16 (resnet\d+)\s+batch\s+(\d+):\s+([0-9.]+) ms")
TORCH_CONV = re.compile(r"^torch fp16 conv (\d+) \(([^)]*)\):\s+([0-9.]+) us")
PEER_NET = re.compile(r"^peer resnet50 batch (\d+): conv GEMMs on cuBLASLt int8 ([0-9.]+) ms .* fp8 ([0-9.]+) ms")
PEER_RFC = re.compile(r"^peer rfc (\d+) .*: cuBLASLt int8 ([0-9.]+) us .* fp8 ([0-9.]+) us")
MODEL = re.compile(r"^(resnet\d+)-(w\da\d)-b(\d+)-(sm_\d+a?(?:-wg)?)$")
HAWQ = re.compile(r"^hawq-(resnet\w+)-(\w+)-b(\d+)-(sm_\d+a?)$")
# `-wg`: built with convert-qnn-to-tcconv{kernel=wgmma}
RFC = re.compile(r"^rfc(\d+)-w4a4-(sm_\d+a?)(-wg)?$")
SANITIZER = re.compile(r"^(memcheck|racecheck|synccheck)-(.+)\.log$")
KERNELS = re.compile(r"^kernels-(.+)\.csv$")
PROFILE = re.compile(r"^profile-(.+)\.txt$")
PROFILE_SUM = re.compile(r"^profile: (\d+) launches, \d+ rounds: sum of medians ([0-9.]+) ms")


def read(folder, name):
    p = os.path.join(folder, name)
    return open(p).read() if os.path.exists(p) else ""


def collect(args):
    rec = {"commit": args.commit, "command": args.command, "card": None, "driver": None,
           "conformance": {"passed": 0, "failed": 0, "failures": []}, "memcheck": [],
           "models": [], "hawq": [], "rfc": [], "torch_models": [], "torch_convs": [],
           "peer_resnet50": [], "peer_rfc": [], "sanitizers": [], "kernels": {},
           "profiles": {}}
    for folder in args.out:
        card = read(folder, "card.txt").strip().splitlines()
        if card:
            rec["card"], rec["driver"] = [x.strip() for x in card[0].split(",")][:2]
        for line in read(folder, "conformance.txt").splitlines():
            if line.startswith("PASS "):
                rec["conformance"]["passed"] += 1
            elif line.startswith("FAIL "):
                rec["conformance"]["failed"] += 1
                rec["conformance"]["failures"].append(line[5:])
        m = re.search(r"ERROR SUMMARY: (\d+) errors", read(folder, "memcheck.log"))
        if m:
            rec["memcheck"].append(int(m.group(1)))
        for f in sorted(os.listdir(folder)):
            if sm := SANITIZER.match(f):
                text = read(folder, f)
                e = re.search(r"(?:ERROR SUMMARY: (\d+) errors|RACECHECK SUMMARY: \d+ hazards displayed \((\d+) errors)", text)
                rec["sanitizers"].append({"tool": sm.group(1), "artifact": sm.group(2),
                                          "errors": int(e.group(1) or e.group(2)) if e else None})
            elif pm := PROFILE.match(f):
                # nibble-run --profile: launches and the sum of per-launch medians
                for line in read(folder, f).splitlines():
                    if ps := PROFILE_SUM.match(line):
                        rec["profiles"][pm.group(1)] = {"launches": int(ps.group(1)),
                                                        "sum_ms": float(ps.group(2))}
            elif km := KERNELS.match(f):
                # mean us per kernel over the run's launches of it
                times, counts = {}, {}
                rows = [r for r in csv.reader(read(folder, f).splitlines()) if len(r) > 4]
                head = next((r for r in rows if "Kernel Name" in r and "Metric Value" in r), None)
                if head:
                    kn, mv = head.index("Kernel Name"), head.index("Metric Value")
                    for r in rows:
                        if "gpu__time_duration.sum" in r and len(r) > max(kn, mv):
                            name = r[kn].split("(")[0]
                            ns = float(r[mv].replace(",", ""))
                            times[name] = times.get(name, 0.0) + ns / 1000
                            counts[name] = counts.get(name, 0) + 1
                rec["kernels"][km.group(1)] = {k: v / counts[k] for k, v in times.items()}
        # REPEAT=N rounds time each artifact N times: the round of the median median counts
        rounds = {}
        for line in read(folder, "bench.txt").splitlines():
            b = BENCH.match(line)
            if b:
                rounds.setdefault(b.group(1), []).append((float(b.group(2)), float(b.group(3))))
        for name, runs in rounds.items():
            med, p90 = sorted(runs)[(len(runs) - 1) // 2]
            if mm := MODEL.match(name):
                rec["models"].append({"arch": mm.group(1), "bits": mm.group(2),
                                      "batch": int(mm.group(3)), "target": mm.group(4),
                                      "median_ms": med, "p90_ms": p90})
            elif mh := HAWQ.match(name):
                rec["hawq"].append({"arch": mh.group(1), "kind": mh.group(2),
                                    "batch": int(mh.group(3)), "target": mh.group(4),
                                    "median_ms": med, "p90_ms": p90})
            elif mr := RFC.match(name):
                rec["rfc"].append({"layer": int(mr.group(1)), "target": mr.group(2),
                                   "kernel": "wgmma" if mr.group(3) else "auto",
                                   "median_us": med * 1000})
        for line in read(folder, "peers.txt").splitlines():
            if pn := PEER_NET.match(line):
                rec["peer_resnet50"].append({"batch": int(pn.group(1)), "int8_ms": float(pn.group(2)),
                                             "fp8_ms": float(pn.group(3))})
            elif pr := PEER_RFC.match(line):
                rec["peer_rfc"].append({"layer": int(pr.group(1)), "int8_us": float(pr.group(2)),
                                        "fp8_us": float(pr.group(3))})
        for line in read(folder, "torch.txt").splitlines():
            if t := TORCH_MODEL.match(line):
                rec["torch_models"].append({"arch": t.group(1), "batch": int(t.group(2)),
                                            "median_ms": float(t.group(3))})
            elif c := TORCH_CONV.match(line):
                rec["torch_convs"].append({"layer": int(c.group(1)), "shape": c.group(2),
                                           "median_us": float(c.group(3))})
    with open(args.output, "w") as f:
        json.dump(rec, f, indent=1)
        f.write("\n")


def torch_ms(rec, arch, batch):
    for t in rec["torch_models"]:
        if t["arch"] == arch and t["batch"] == batch:
            return t["median_ms"]
    return None


def render(args):
    rec = json.load(open(args.record))
    out = []
    peers = {p["batch"]: p for p in rec.get("peer_resnet50", [])}
    prof = rec.get("profiles", {})
    out.append("| network | batch | nibble ms | images/s | PyTorch fp16 ms | nibble vs PyTorch |"
               " cuBLASLt int8 / fp8 conv-GEMM sum ms |"
               + (" launches: sum of kernel times ms |" if prof else ""))
    out.append("|---|---|---|---|---|---|---|" + ("---|" if prof else ""))
    for m in sorted(rec["models"], key=lambda m: (m["arch"], m["bits"], m["batch"])):
        t = torch_ms(rec, m["arch"], m["batch"])
        ips = m["batch"] / m["median_ms"] * 1000
        vs = f"{t / m['median_ms']:.2f}x" if t else "-"
        p = peers.get(m["batch"]) if m["arch"] == "resnet50" else None
        pv = f"{p['int8_ms']:.3f} / {p['fp8_ms']:.3f}" if p else "-"
        row = (f"| {m['arch']} {m['bits'].upper()} ({m['target']}) | {m['batch']} | "
               f"{m['median_ms']:.4f} | {ips:,.0f} | {t if t else '-'} | {vs} | {pv} |")
        if prof:
            k = prof.get(f"{m['arch']}-{m['bits']}-b{m['batch']}-{m['target']}")
            row += f" {k['launches']}: {k['sum_ms']:.4f} |" if k else " - |"
        out.append(row)
    if rec["hawq"]:
        out.append("")
        out.append("| imported HAWQ checkpoint (narrow, 64x64 input) | batch | nibble ms |")
        out.append("|---|---|---|")
        for h in rec["hawq"]:
            out.append(f"| {h['arch']} {h['kind']} ({h['target']}) | {h['batch']} | {h['median_ms']:.4f} |")
    if rec["rfc"]:
        out.append("")
        cols = sorted({(r["target"], r.get("kernel", "auto")) for r in rec["rfc"]})
        head = " | ".join(f"nibble {t}{' wgmma' if k == 'wgmma' else ''} us" for t, k in cols)
        out.append(f"| RFC layer (batch 8) | shape (n, c, size, o, k, s, p) | {head} | cuDNN fp16 us |"
                   " best nibble vs cuDNN | cuBLASLt int8 / fp8 GEMM us |")
        out.append("|---|---|" + "---|" * len(cols) + "---|---|---|")
        convs = {c["layer"]: c for c in rec["torch_convs"]}
        prfc = {p["layer"]: p for p in rec.get("peer_rfc", [])}
        by = {(r["layer"], r["target"], r.get("kernel", "auto")): r["median_us"] for r in rec["rfc"]}
        for layer in sorted({r["layer"] for r in rec["rfc"]}):
            c = convs.get(layer)
            vals = [by.get((layer, t, k)) for t, k in cols]
            best = min(v for v in vals if v is not None)
            sp = f"{c['median_us'] / best:.2f}x" if c else "-"
            p = prfc.get(layer)
            pv = f"{p['int8_us']:.1f} / {p['fp8_us']:.1f}" if p else "-"
            cells = " | ".join(f"{v:.1f}" if v is not None else "-" for v in vals)
            out.append(f"| {layer} | {c['shape'] if c else '-'} | {cells} | "
                       f"{c['median_us'] if c else '-'} | {sp} | {pv} |")
    if len(rec.get("kernels", {})) >= 2:
        # per-kernel ncu times of artifacts of the same model (same kernel names), side by side
        names = sorted(rec["kernels"])
        out.append("")
        out.append("| kernel | " + " | ".join(f"{n} us" for n in names) + " |")
        out.append("|---|" + "---|" * len(names))
        ks = rec["kernels"]
        order = sorted(set().union(*[set(ks[n]) for n in names]),
                       key=lambda k: int(re.search(r"_(\d+)_", k).group(1)))
        for k in order:
            out.append(f"| {k} | " + " | ".join(f"{ks[n][k]:.1f}" if k in ks[n] else "-" for n in names) + " |")
        out.append("| total | " + " | ".join(f"{sum(ks[n].values()):.1f}" for n in names) + " |")
    if rec.get("sanitizers"):
        out.append("")
        out.append("| compute-sanitizer | artifact | errors |")
        out.append("|---|---|---|")
        for z in rec["sanitizers"]:
            out.append(f"| {z['tool']} | {z['artifact']} | {z['errors']} |")
    print("\n".join(out))
    if args.plot:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(7, 4.5))
        series = {}
        for m in rec["models"]:
            series.setdefault(f"nibble {m['arch']} {m['bits'].upper()} {m['target']}", []).append(
                (m["batch"], m["batch"] / m["median_ms"] * 1000))
        for t in rec["torch_models"]:
            series.setdefault(f"PyTorch fp16 {t['arch']}", []).append(
                (t["batch"], t["batch"] / t["median_ms"] * 1000))
        for p in rec.get("peer_resnet50", []):
            series.setdefault("cuBLASLt int8 conv GEMMs resnet50", []).append(
                (p["batch"], p["batch"] / p["int8_ms"] * 1000))
            series.setdefault("cuBLASLt fp8 conv GEMMs resnet50", []).append(
                (p["batch"], p["batch"] / p["fp8_ms"] * 1000))
        for name, pts in sorted(series.items()):
            pts.sort()
            style = "-" if name.startswith("nibble") else (":" if name.startswith("cuBLASLt") else "--")
            ax.plot([p[0] for p in pts], [p[1] for p in pts], style, marker="o", label=name)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("batch")
        ax.set_ylabel("images / s")
        ax.set_title(f"{rec['card']} (driver {rec['driver']}), commit {rec['commit']}")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(args.plot, dpi=110)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("collect")
    c.add_argument("out", nargs="+")
    c.add_argument("--commit", required=True)
    c.add_argument("--command", required=True)
    c.add_argument("-o", "--output", required=True)
    r = sub.add_parser("render")
    r.add_argument("record")
    r.add_argument("--plot")
    args = ap.parse_args()
    {"collect": collect, "render": render}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
