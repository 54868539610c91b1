"""Where things are: the checkout under test, its ComfyUI, and the cache for generated model files."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACK_NAME = "ComfyUI-InteractiveVideo"
# The pack is imported under this name in-process (ComfyUI itself names it after its folder).
PACK_MODULE = "comfyui_interactivevideo"


def comfy_root() -> Path:
    env = os.environ.get("COMFYUI_DIR")
    root = Path(env).resolve() if env else REPO / ".comfyui"
    if not (root / "main.py").is_file():
        raise RuntimeError(f"no ComfyUI at {root}: run `bash scripts/setup.sh` first")
    return root


def cached_weights(filename: str, build) -> Path:
    """``cache_dir() / filename``, written from ``build()`` (a state dict) as safetensors on first use. Written to a
    temporary name and renamed, so an interrupted run never leaves a half file that a later run would trust."""
    from safetensors.torch import save_file

    path = cache_dir() / filename
    if not path.exists():
        tmp = path.with_suffix(".partial")
        state = {k: v.contiguous() for k, v in build().items()}
        save_file(state, str(tmp), metadata={"comment": "random weights for tests"})
        tmp.replace(path)
    return path


def cache_dir() -> Path:
    """Generated random-weight model files live here so a second run does not rebuild them.

    ``IV_MODEL_CACHE`` names another folder (CI points the demo at an empty one, as a newcomer has).
    """
    override = os.environ.get("IV_MODEL_CACHE")
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    path = Path(override) if override else base / "comfyui-interactivevideo" / "models"
    path.mkdir(parents=True, exist_ok=True)
    return path
