#!/usr/bin/env bash
# User-space instructions per request of `glassbox proxy`, counted by valgrind's callgrind:
# the proxy runs under callgrind in front of the mock upstream, is warmed up, its counters are
# dumped (reset), the load generator sends N requests at a low rate, and the second dump is
# divided by the number of requests. Instruction counts do not depend on what else the machine
# is doing, so this compares builds on a busy shared box where CPU times move by ±20 %.
# (Kernel time, i.e. syscalls, is not counted; see cpu.sh for CPU time.)
#
#   benches/load/icount.sh [json|stream] [N] [RATE]     # default: json 500 100
#   BIN=/path/to/other/glassbox benches/load/icount.sh stream 200 40
#   (the proxy runs with policies/patterns-only.yaml unless PROXY_ARGS says otherwise)
set -uo pipefail
cd "$(dirname "$0")/../.."
MODE=${1:-json}; N=${2:-500}; RATE=${3:-100}
BIN=${BIN:-target/release/glassbox}
MOCK=127.0.0.1:${MOCK_PORT:-18401}
PROXY=127.0.0.1:${PROXY_PORT:-18480}
command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install valgrind)"; exit 2; }
. benches/load/lib.sh
OUT=$(mktemp -d)/cg
# PROXY_ARGS replaces the upstream and policy arguments, as in cpu.sh (the built-in default
# policy runs the classifiers, which would dominate the count). Under callgrind the proxy
# takes a while to start: up to 300 s.
PROXY_LOG="$OUT.log" READY_TRIES=1500 \
  start_mock_and_proxy valgrind --tool=callgrind --callgrind-out-file="$OUT.%p"
flag=""; [ "$MODE" = stream ] && flag=--stream
"$LOADGEN" --url "http://$PROXY" --rate 50 --secs 1 $flag >/dev/null
callgrind_control -d $PROXY_PID >/dev/null
for _ in $(seq 100); do ls "$OUT".*.1 >/dev/null 2>&1 && break; sleep 0.2; done
out=$("$LOADGEN" --url "http://$PROXY" --rate "$RATE" --secs $((N / RATE)) $flag)
callgrind_control -d $PROXY_PID >/dev/null
for _ in $(seq 100); do ls "$OUT".*.2 >/dev/null 2>&1 && break; sleep 0.2; done
ok=$(echo "$out" | sed -E 's/.*"ok":([0-9]+).*/\1/')
ir=$(grep -E "^totals:" "$OUT".*.2 | head -1 | awk '{print $2}')
echo "$MODE: $ok requests, $ir instructions, $((ir / ok)) per request ($BIN)"
echo "profile: callgrind_annotate --inclusive=yes $(ls "$OUT".*.2)"
