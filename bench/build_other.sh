#!/usr/bin/env bash
# Builds nibble-opt at another revision (a branch, tag or commit) for an A/B run in one GPU
# call, and prints the path to pass to bench/make_gpu_suite.sh as BUILDS="label:PATH":
#   bench/build_other.sh REV
# The revision is checked out in a worktree under target/other/ (git-ignored); the builds share
# one cargo target directory there, so a second revision compiles only what differs.
set -euo pipefail
cd "$(dirname "$0")/.."
rev=${1:?usage: bench/build_other.sh REV}
sha=$(git rev-parse --verify --quiet "$rev^{commit}") || { echo "build_other: unknown revision '$rev'" >&2; exit 1; }
root=$PWD/target/other
wt=$root/wt-${sha:0:12}
mkdir -p "$root"
if [ ! -d "$wt" ]; then
  git worktree prune
  git worktree add --detach --force "$wt" "$sha" > /dev/null
fi
(cd "$wt" && CARGO_TARGET_DIR=$root/target cargo build --release --quiet -p nibble-opt)
install -D "$root/target/release/nibble-opt" "$root/bin/nibble-opt-${sha:0:12}"
echo "$root/bin/nibble-opt-${sha:0:12}"
