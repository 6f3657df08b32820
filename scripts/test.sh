#!/usr/bin/env bash
# The whole test suite. `make test` runs set-up first, then this.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f scripts/env.sh ] && source scripts/env.sh
cargo fmt --all -- --check
cargo nextest run --workspace --no-fail-fast
cargo test --workspace --doc
