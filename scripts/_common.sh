# Shared by the scripts in this folder; sourced, never run.
ROOT="${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
VENV="$ROOT/.venv"
COMFY="${COMFYUI_DIR:-$ROOT/.comfyui}"
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
