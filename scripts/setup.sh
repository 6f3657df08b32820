#!/usr/bin/env bash
# One-time, idempotent set-up for a fresh machine: system packages, the ONNX Runtime library,
# model bundles, test services. Each part lives in scripts/setup.d/NN-name.sh and is run in
# order; each part is safe to run again and skips work already done.
#
#   scripts/setup.sh            # everything
#   scripts/setup.sh 10-apt     # only the parts whose names start with the argument
set -euo pipefail
cd "$(dirname "$0")/.."
export GLASSBOX_ROOT="$PWD"
for part in scripts/setup.d/*.sh; do
  name=$(basename "$part" .sh)
  if [ $# -gt 0 ] && [[ "$name" != "$1"* ]]; then continue; fi
  echo "==> setup: $name" >&2
  bash "$part"
done
