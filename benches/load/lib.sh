# Sourced by the load scripts (run.sh, cpu.sh, icount.sh, syscalls.sh) from the repository root,
# after they set BIN, MOCK and PROXY: the load generator, and the mock upstream with
# `glassbox proxy` in front of it.

LOADGEN=$(ls -t target/release/deps/load-* 2>/dev/null | grep -v '\.d$' | head -1)
if [ -z "$LOADGEN" ]; then
  echo "no load generator built: cargo bench -p glassbox --bench load --no-run" >&2
  exit 2
fi

# start_mock_and_proxy [WRAPPER...]: the mock model server on $MOCK and the proxy on $PROXY,
# the proxy run through WRAPPER when one is given (`env VAR=…`, `valgrind …`), with
# policies/patterns-only.yaml unless PROXY_ARGS replaces the upstream and policy arguments, and
# its stderr in $PROXY_LOG (default: a temporary file). Sets MOCK_PID and PROXY_PID, stops both when the
# script exits, and returns once the proxy answers /readyz (READY_TRIES polls 0.2 s apart,
# default 100); exits with the proxy's last log lines if it stops first.
start_mock_and_proxy() {
  PROXY_LOG=${PROXY_LOG:-$(mktemp)}
  "$BIN" demo --mock-only "$MOCK" 2>/dev/null & MOCK_PID=$!
  # shellcheck disable=SC2086 # PROXY_ARGS is a list of arguments
  RUST_LOG=warn "$@" "$BIN" proxy --listen "$PROXY" \
    ${PROXY_ARGS:---upstream http://$MOCK --policy policies/patterns-only.yaml} \
    2>"$PROXY_LOG" & PROXY_PID=$!
  trap 'kill $MOCK_PID $PROXY_PID 2>/dev/null || true' EXIT
  for _ in $(seq "${READY_TRIES:-100}"); do
    curl -sf "http://$PROXY/readyz" >/dev/null 2>&1 && return 0
    if ! kill -0 "$PROXY_PID" 2>/dev/null; then
      echo "the proxy exited:" >&2
      tail -5 "$PROXY_LOG" >&2
      exit 1
    fi
    sleep 0.2
  done
  echo "the proxy did not answer /readyz on $PROXY" >&2
  exit 1
}
