# Environment for tests and the demo (sourced by scripts/test.sh and the Makefile targets).
# Each set-up part that provides something (a library path, a database URL) exports it from
# its own scripts/env.d/<part>.sh.
export GLASSBOX_ROOT="${GLASSBOX_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
for f in "$GLASSBOX_ROOT"/scripts/env.d/*.sh; do
  [ -e "$f" ] && source "$f"
done
