# PostgreSQL for the audit store tests (started by scripts/setup.d/30-postgres.sh).
export GLASSBOX_TEST_PG_URL="${GLASSBOX_TEST_PG_URL:-postgres://postgres@127.0.0.1:55432/glassbox_test}"
