# Shared by the scripts in this folder; sourced, never run.
ROOT="${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
# The version matrix: IV_COMFYUI=0.33.0 selects that ComfyUI (from ../shared/comfyui/) with its own environment;
# unset is the floor, ComfyUI 0.3.75 from PyPI. IV_FRONTEND=1.58.1 serves that frontend from PyPI instead of the
# one the ComfyUI pins.
if [ -n "${IV_COMFYUI:-}" ]; then
  VENV="$ROOT/.venv-$IV_COMFYUI"
  COMFY="${COMFYUI_DIR:-$ROOT/.comfyui-$IV_COMFYUI}"
else
  VENV="$ROOT/.venv"
  COMFY="${COMFYUI_DIR:-$ROOT/.comfyui}"
fi
if [ -n "${IV_FRONTEND:-}" ]; then
  export IV_FRONTEND_ROOT="$ROOT/.frontend-$IV_FRONTEND/comfyui_frontend_package/static"
fi
export COMFYUI_DIR="$COMFY"
PACK_NAME="ComfyUI-InteractiveVideo"
export PYTHONUNBUFFERED=1

_t_step=0
step() { _t_step=$(date +%s); printf '==> %s ... ' "$1"; }
done_step() { printf '%s [%ss]\n' "$1" "$(( $(date +%s) - _t_step ))"; }
warn() { printf '\nwarning: %s\n' "$1" >&2; }
die() { printf '\nerror: %s\n' "$1" >&2; exit 1; }

# Set-up is cheap when nothing is missing, so every entry point runs it.
ensure_setup() {
  bash "$ROOT/scripts/setup.sh" "$@"
}
