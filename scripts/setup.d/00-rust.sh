#!/usr/bin/env bash
# Rust toolchain (pinned in rust-toolchain.toml) and cargo-nextest.
set -euo pipefail
if ! command -v cargo >/dev/null 2>&1; then
  echo "cargo not found: install rustup from your distribution, then re-run" >&2
  exit 1
fi
rustup show active-toolchain >/dev/null 2>&1 || rustup toolchain install
if ! cargo nextest --version >/dev/null 2>&1; then
  cargo install --locked cargo-nextest
fi
