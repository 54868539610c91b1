#!/usr/bin/env bash
# The whole test suite: set-up if needed, then all three layers (core, comfy, e2e incl. browser) in one pytest run.
#   bash scripts/test.sh                 # everything
#   bash scripts/test.sh -m core         # one layer (pytest arguments pass through)
#   bash scripts/test.sh tests/e2e/browser  # only these paths
#   IV_COMFYUI=0.33.0 [IV_FRONTEND=1.58.1] bash scripts/test.sh   # the newer ComfyUI (frontend) of the matrix
# Browser tests run when Chromium is installed (scripts/setup.sh --browser); under CI (CI=true) it is installed
# and required.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/_common.sh"

setup_args=()
if [ "${CI:-}" = "true" ] || [ "${IV_REQUIRE_BROWSER:-}" = "1" ]; then
  setup_args+=(--browser)
  export IV_REQUIRE_BROWSER=1
fi
ensure_setup "${setup_args[@]}"

cd "$ROOT"
t0=$(date +%s)
set +e
# Paths among the arguments narrow the run to them; otherwise the whole suite.
targets=(tests)
for arg in "$@"; do
  case "$arg" in tests|tests/*) targets=() ;; esac
done
"$VENV/bin/python" -m pytest "${targets[@]}" "$@"
rc=$?
set -e
echo "tests: pytest exited $rc after $(( $(date +%s) - t0 ))s"
exit "$rc"
