#!/usr/bin/env bash
# The proxy load test with each process on cores of its own (needs >= 10 cores): the proxy
# pinned to cpus 0-1 (the standard machine's two cores), the mock upstream to 2-5, the load
# generator to 6-9; then the proxy unpinned. Patterns-only policy, loopback only, SECS seconds
# per run (default 4), direct and proxied runs back to back. One JSON line per run.
#
#   benches/load/pinned.sh        # NO_BUILD=1 uses what is built; BIN=... another glassbox
set -euo pipefail
cd "$(dirname "$0")/../.."
SECS=${SECS:-4}
if [ "$(nproc)" -lt 10 ]; then
  echo "pinned.sh needs at least 10 cores (this machine has $(nproc)); use run.sh" >&2
  exit 2
fi
if [ -z "${NO_BUILD:-}" ]; then
  cargo build --release -q -p glassbox --bin glassbox
  cargo bench -q -p glassbox --bench load --no-run 2>/dev/null
fi
BIN=${BIN:-target/release/glassbox}
MOCK=127.0.0.1:${MOCK_PORT:-18101}
PROXY=127.0.0.1:${PROXY_PORT:-18080}
. benches/load/lib.sh
start_mock_and_proxy taskset -c 0,1
# lib.sh started the mock unpinned: move it (and its threads) to cpus 2-5.
taskset -a -p -c 2-5 "$MOCK_PID" >/dev/null
run_all() {
  for stream in "" "--stream"; do
    for rate in 1000 5000 10000; do
      # shellcheck disable=SC2086 # $stream is empty or one flag
      taskset -c 6-9 "$LOADGEN" --url "http://$MOCK" --rate "$rate" --secs "$SECS" $stream --label direct
      # shellcheck disable=SC2086
      taskset -c 6-9 "$LOADGEN" --url "http://$PROXY" --rate "$rate" --secs "$SECS" $stream --label "proxy-$1"
    done
  done
}
echo "== proxy on cpus 0-1"
run_all cpus0-1
echo "== proxy unpinned (restarted, so its runtime sizes itself to every core)"
kill "$PROXY_PID"; wait "$PROXY_PID" 2>/dev/null || true
RUST_LOG=warn "$BIN" proxy --listen "$PROXY" --upstream "http://$MOCK" \
  --policy policies/patterns-only.yaml 2>>"$PROXY_LOG" & PROXY_PID=$!
trap 'kill $MOCK_PID $PROXY_PID 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf "http://$PROXY/readyz" >/dev/null 2>&1 && break; sleep 0.2; done
run_all unpinned
