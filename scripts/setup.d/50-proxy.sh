#!/usr/bin/env bash
# Proxy tests and load harness: `wrk` (load generator, loopback only) and a Python venv
# `.venv-sdk` with the official `openai` and `anthropic` SDKs and uvicorn + httptools, pinned,
# for tests/sdk/*.py.
# Idempotent: installs only what is missing.
set -euo pipefail
cd "${GLASSBOX_ROOT:-$(dirname "$0")/../..}"

if ! command -v wrk >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends wrk
fi

OPENAI_VERSION=3.51.0
ANTHROPIC_VERSION=2.10.0
# uvicorn (what vLLM serves on) with both its HTTP/1 stacks, for tests/uvicorn_upstream.rs.
UVICORN_VERSION=0.54.0
HTTPTOOLS_VERSION=0.9.0
VENV=.venv-sdk
want="openai==$OPENAI_VERSION anthropic==$ANTHROPIC_VERSION uvicorn==$UVICORN_VERSION httptools==$HTTPTOOLS_VERSION"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
if ! "$VENV/bin/python" - "$OPENAI_VERSION" "$ANTHROPIC_VERSION" "$UVICORN_VERSION" "$HTTPTOOLS_VERSION" <<'PY' 2>/dev/null
import sys, importlib.metadata as m
want = dict(zip(["openai", "anthropic", "uvicorn", "httptools"], sys.argv[1:]))
assert all(m.version(name) == v for name, v in want.items())
PY
then
  "$VENV/bin/pip" install --quiet --disable-pip-version-check $want
fi
