#!/usr/bin/env bash
# CPU cost per request of `glassbox proxy` (and of the mock upstream, for scale): the user +
# system CPU time the process consumed (/proc/PID/stat utime + stime) while the load generator
# sent a fixed number of requests through the proxy at a modest open-loop rate, divided by the
# number of requests. Unlike wall-clock latency this barely moves with other load on the
# machine, so it is the number to compare before/after a change on a shared box.
#
#   benches/load/cpu.sh              # N JSON requests at 1k/s and N/4 streamed at 250/s
#   SECS=10 NO_BUILD=1 benches/load/cpu.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
SECS=${SECS:-5}
RATE=${RATE:-1000}
SRATE=${SRATE:-250}
MOCK=127.0.0.1:${MOCK_PORT:-18101}
PROXY=127.0.0.1:${PROXY_PORT:-18180}
BIN=${BIN:-target/release/glassbox}

if [ -z "${NO_BUILD:-}" ]; then
  cargo build --release -q -p glassbox --bin glassbox
  cargo bench -q -p glassbox --bench load --no-run 2>/dev/null
fi
. benches/load/lib.sh
TCK=$(getconf CLK_TCK)

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# PROXY_ARGS replaces `--upstream` (e.g. `--config FILE` with an unscreened route, for scale);
# PROXY_ENV sets environment variables for the proxy only (e.g. TOKIO_WORKER_THREADS=1).
# shellcheck disable=SC2086
start_mock_and_proxy env ${PROXY_ENV:-}
echo "machine load at start: $(uptime)"
# Warm up both processes (pools, lazy DFA caches, allocator).
"$LOADGEN" --url "http://$PROXY" --rate 1000 --secs 1 >/dev/null
"$LOADGEN" --url "http://$PROXY" --rate 200 --secs 1 --stream >/dev/null
for mode in json stream; do
  if [ $mode = json ]; then rate=$RATE; flag=""; else rate=$SRATE; flag="--stream"; fi
  p0=$(ticks $PROXY_PID); m0=$(ticks $MOCK_PID)
  out=$("$LOADGEN" --url "http://$PROXY" --rate "$rate" --secs "$SECS" $flag --label proxy)
  p1=$(ticks $PROXY_PID); m1=$(ticks $MOCK_PID)
  ok=$(echo "$out" | sed -E 's/.*"ok":([0-9]+).*/\1/')
  awk -v p=$((p1 - p0)) -v m=$((m1 - m0)) -v n="$ok" -v t="$TCK" -v mode=$mode -v r="$rate" \
    'BEGIN { printf "%-6s %5d req at %d/s: proxy %.1f us CPU/request (%.2f s), mock %.1f us/request\n", mode, n, r, p / t / n * 1e6, p / t, m / t / n * 1e6 }'
done
echo "machine load at end: $(uptime)"
