#!/usr/bin/env bash
# Runs every test: cargo's unit and integration tests, then the lit suite over the built tools.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --workspace --bins
cargo test --release --workspace
NIBBLE_BIN_DIR="$PWD/target/release" python3 -m lit -sv lit_tests
