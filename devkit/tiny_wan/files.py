"""The committed files of the small Wan model and how ComfyUI reads them."""

from __future__ import annotations

from pathlib import Path

from ..comfy_env import comfy_importable
from .config import DIT_FILE, VAE_FILE, WEIGHTS


def vae_file(folder: Path = WEIGHTS) -> Path:
    """``models/vae/`` material: ComfyUI's ``VAELoader`` detects a Wan 2.1 VAE and reads its width."""
    return _existing(folder / VAE_FILE)


def dit_file(folder: Path = WEIGHTS) -> Path:
    """``models/diffusion_models/`` material: ``UNETLoader`` detects Wan 2.1 image-to-video (36 channels)."""
    return _existing(folder / DIT_FILE)


def _existing(path: Path) -> Path:
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing: it is committed with the repository (git lfs is not used); "
            "retrain it with `.venv/bin/python scripts/train_tiny_wan.py`"
        )
    return path


def load_vae(folder: Path = WEIGHTS):
    """A ComfyUI ``VAE`` from the file, exactly as ``VAELoader`` makes it."""
    comfy_importable()
    import comfy.sd
    import comfy.utils

    return comfy.sd.VAE(sd=comfy.utils.load_torch_file(str(vae_file(folder))))


def load_dit(folder: Path = WEIGHTS):
    """A ComfyUI ``ModelPatcher`` from the file, exactly as ``UNETLoader`` (weight dtype default) makes it."""
    comfy_importable()
    import comfy.sd

    return comfy.sd.load_diffusion_model(str(dit_file(folder)))
