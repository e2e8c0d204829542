#!/usr/bin/env bash
# Runs every test: cargo's unit and integration tests, then the lit suite over the built tools.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --workspace --bins
cargo test --release --workspace
LIT=$(command -v lit || echo /usr/lib/llvm-22/bin/lit)
NIBBLE_BIN_DIR="$PWD/target/release" "$LIT" -sv lit_tests
