#!/usr/bin/env bash
# The pack's main job, headless: set-up if needed, then a real ComfyUI server with the pack.
#   bash scripts/demo.sh
# Uses ComfyUI at COMFYUI_DIR if set, else the one scripts/setup.sh put in .comfyui/. Writes to output/.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/_common.sh"
ensure_setup
exec "$VENV/bin/python" "$ROOT/scripts/demo.py" "$@"
