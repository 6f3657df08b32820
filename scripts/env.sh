# Environment for tests and the demo (sourced). Parts of set-up export what they provide here.
export GLASSBOX_ROOT="${GLASSBOX_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
