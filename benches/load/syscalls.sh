#!/usr/bin/env bash
# System calls per request of `glassbox proxy` (patterns-only policy, in front of the mock),
# counted by `strace -c -f` attached to the proxy while the load generator sends N requests at
# a low open-loop rate. Like icount.sh it does not depend on machine load: it shows the kernel
# side (writes per streamed answer, tokio wake-ups as eventfd `write`s and `futex`es) that
# callgrind does not count.
#
#   benches/load/syscalls.sh [json|stream] [N] [RATE]     # default: stream 200 100
#   BIN=/path/to/other/glassbox benches/load/syscalls.sh json 500 250
set -uo pipefail
cd "$(dirname "$0")/../.."
MODE=${1:-stream}; N=${2:-200}; RATE=${3:-100}
BIN=${BIN:-target/release/glassbox}
MOCK=127.0.0.1:${MOCK_PORT:-18601}
PROXY=127.0.0.1:${PROXY_PORT:-18680}
command -v strace >/dev/null || { echo "needs strace (apt-get install strace)"; exit 2; }
. benches/load/lib.sh
OUT=$(mktemp)
start_mock_and_proxy
flag=""; [ "$MODE" = stream ] && flag=--stream
"$LOADGEN" --url "http://$PROXY" --rate 100 --secs 1 $flag >/dev/null   # warm-up
strace -f -c -o "$OUT" -p $PROXY_PID 2>/dev/null & STRACE_PID=$!
sleep 0.5
out=$("$LOADGEN" --url "http://$PROXY" --rate "$RATE" --secs $((N / RATE)) $flag)
kill -INT $STRACE_PID; wait $STRACE_PID 2>/dev/null
ok=$(echo "$out" | sed -E 's/.*"ok":([0-9]+).*/\1/')
echo "$MODE: $ok requests ($BIN); system calls per request:"
awk -v n="$ok" 'NR > 2 && $NF != "total" && $4 ~ /^[0-9]+$/ {
  t += $4; if ($4 / n >= 0.05) printf "  %-12s %6.1f\n", $NF, $4 / n }
  END { printf "  %-12s %6.1f\n", "all", t / n }' "$OUT"
