#!/usr/bin/env bash
# A private PostgreSQL cluster for the audit store tests: Debian's postgresql, a data directory
# under $GLASSBOX_ROOT/.runtime/pg owned by the `postgres` user, listening on 127.0.0.1:55432
# with trust auth on loopback only, database glassbox_test. Idempotent: a running cluster is
# left alone. scripts/env.d/30-postgres.sh exports GLASSBOX_TEST_PG_URL for the tests.
set -euo pipefail
ROOT="${GLASSBOX_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}"
PGDATA="$ROOT/.runtime/pg"
PORT=55432
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends postgresql
fi
BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)

as_pg() {
  if [ "$(id -un)" = postgres ]; then "$@"
  elif [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"
  else sudo -u postgres "$@"; fi
}

if as_pg "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" 2>/dev/null; then
  echo "postgres: already running on 127.0.0.1:$PORT" >&2
else
  $SUDO mkdir -p "$PGDATA"
  $SUDO chown postgres:postgres "$PGDATA"
  # The postgres user must be able to reach the data directory.
  d="$PGDATA"; while [ "$d" != / ]; do d=$(dirname "$d"); $SUDO chmod o+x "$d" 2>/dev/null || true; done
  if [ ! -f "$PGDATA/PG_VERSION" ]; then
    as_pg "$BIN/initdb" -D "$PGDATA" -U postgres --auth-local=trust --auth-host=reject -E UTF8 >/dev/null
    cat <<CONF | as_pg tee -a "$PGDATA/postgresql.conf" >/dev/null
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$PGDATA'
max_connections = 200
fsync = on
CONF
    cat <<HBA | as_pg tee "$PGDATA/pg_hba.conf" >/dev/null
local all all trust
host  all all 127.0.0.1/32 trust
HBA
  fi
  as_pg "$BIN/pg_ctl" -D "$PGDATA" -l "$PGDATA/server.log" -w -t 60 start >/dev/null
  echo "postgres: started on 127.0.0.1:$PORT (data $PGDATA)" >&2
fi
if ! as_pg "$BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='glassbox_test'" | grep -q 1; then
  as_pg "$BIN/createdb" -h 127.0.0.1 -p "$PORT" -U postgres glassbox_test
fi
