#!/usr/bin/env python3
"""Per-launch A/B of two `nibble-run --profile N` outputs (bench/gpu_suite.sh profile writes
them as profile-NAME.txt): each launch's median in both, and their ratio where it moves more
than --min (default 2%), then the sums.

    python3 bench/profile_ab.py OUT/profile-A.txt OUT/profile-B.txt [--min 0.02]

Both runs must be of the same network (the same launches in the same order); the kernel names
may differ.
"""
import argparse
import re
import sys

LAUNCH = re.compile(r"^profile: launch (\d+) (\S+) median ([0-9.]+) us")


def launches(path):
    out = []
    with open(path) as f:
        for line in f:
            m = LAUNCH.match(line)
            if m:
                out.append((int(m.group(1)), m.group(2), float(m.group(3))))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--min", type=float, default=0.02, help="smallest relative change shown")
    args = ap.parse_args()
    a, b = launches(args.a), launches(args.b)
    if not a or not b:
        sys.exit("profile_ab: no 'profile: launch' lines in " + (args.a if not a else args.b))
    if len(a) != len(b):
        sys.exit(f"profile_ab: {len(a)} launches against {len(b)}: not the same network")
    print(f"{'launch':>6}  {'kernel':40}  {'A us':>9}  {'B us':>9}  {'B / A':>6}")
    for (i, kernel, ta), (_, _, tb) in zip(a, b):
        if ta > 0 and abs(tb - ta) / ta > args.min:
            print(f"{i:>6}  {kernel[:40]:40}  {ta:9.1f}  {tb:9.1f}  {tb / ta:6.2f}")
    sa, sb = sum(t for *_, t in a), sum(t for *_, t in b)
    print(f"{'sum':>6}  {'':40}  {sa:9.1f}  {sb:9.1f}  {sb / sa:6.3f}")


if __name__ == "__main__":
    main()
