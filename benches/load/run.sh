#!/usr/bin/env bash
# Load test of `glassbox proxy` on loopback: the mock model server directly vs. through the
# proxy (policies/patterns-only.yaml: the default policy without classifiers), non-streamed and streamed, at 1k and 5k requests/s.
# Bounded: each run lasts SECS seconds (default 10), everything stops by itself, only
# 127.0.0.1 is targeted. Prints one JSON line per run plus RSS samples; see
# crates/glassbox/BENCH.md for recorded numbers.
#
#   benches/load/run.sh            # SECS=10 RATES="1000 5000"; NO_BUILD=1 uses what is built
#   BIN=/path/to/other/glassbox NO_BUILD=1 benches/load/run.sh    # another build
set -euo pipefail
cd "$(dirname "$0")/../.."
SECS=${SECS:-10}
RATES=${RATES:-"1000 5000"}
MOCK=127.0.0.1:${MOCK_PORT:-18001}
PROXY=127.0.0.1:${PROXY_PORT:-18080}

if [ -z "${NO_BUILD:-}" ]; then
  cargo build --release -q -p glassbox --bin glassbox
  cargo bench -q -p glassbox --bench load --no-run 2>/dev/null
fi
BIN=${BIN:-target/release/glassbox}
. benches/load/lib.sh

rss() { awk '/VmRSS/ {print $2/1024 " MiB"}' "/proc/$1/status"; }

start_mock_and_proxy
echo "machine load at start: $(uptime)"
echo "proxy RSS at rest: $(rss $PROXY_PID)"
for stream in "" "--stream"; do
  for rate in $RATES; do
    "$LOADGEN" --url "http://$MOCK" --rate "$rate" --secs "$SECS" $stream --label direct
    "$LOADGEN" --url "http://$PROXY" --rate "$rate" --secs "$SECS" $stream --label proxy &
    LG=$!
    sleep $((SECS / 2))
    echo "proxy RSS under load ($rate rps${stream:+, streamed}): $(rss $PROXY_PID)"
    wait $LG
  done
done
# Closed-loop maximum throughput (wrk, 64 connections, 2 threads), non-streamed.
if command -v wrk >/dev/null 2>&1; then
  for target in "direct $MOCK" "proxy $PROXY"; do
    set -- $target
    echo "wrk max throughput, $1:"
    wrk -t2 -c64 -d"${SECS}s" --latency -s benches/load/chat.lua "http://$2/v1/chat/completions" \
      | grep -E "Requests/sec|50%|99%|Non-2xx"
  done
fi
echo "proxy RSS after: $(rss $PROXY_PID)"
echo "machine load at end: $(uptime)"
