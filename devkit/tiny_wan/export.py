"""Writing the trained modules as the files ComfyUI loads."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import torch

from ..paths import REPO
from .config import DIT_FILE, VAE_FILE, TrainConfig


def commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
        return out.stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def export(vae: torch.nn.Module, dit: torch.nn.Module, cfg: TrainConfig, out: Path, extra: dict) -> tuple[Path, Path]:
    """Both files as fp16 safetensors in ComfyUI's key layout (the VAE as ``wan_2.1_vae.safetensors`` holds it, the
    DiT as Comfy-Org's repackaged ``split_files/diffusion_models``), with what, data, seed, steps and commit."""
    from safetensors.torch import save_file

    out.mkdir(parents=True, exist_ok=True)
    common = {
        "data": "procedural clips of devkit/clips.py (make_clip), 128x128, 17 frames",
        "training": "devkit/tiny_wan/train.py (scripts/train_tiny_wan.py)",
        "commit": commit(),
        "config": json.dumps(cfg.as_dict()),
        **{k: json.dumps(v) for k, v in extra.items()},
    }
    files = []
    for module, name, what in (
        (vae, VAE_FILE, f"Wan 2.1 VAE layout, width {cfg.vae.width}, trained on procedural clips (InteractiveVideo)"),
        (
            dit,
            DIT_FILE,
            f"Wan 2.1 I2V DiT layout, dim {cfg.dit.dim}, {cfg.dit.layers} blocks, trained on "
            "procedural clips with random text (InteractiveVideo)",
        ),
    ):
        state = {k: v.detach().to(torch.float16).contiguous() for k, v in module.state_dict().items()}
        path = out / name
        tmp = path.with_suffix(".partial")
        save_file(state, str(tmp), metadata={"what": what, **common})
        tmp.replace(path)
        files.append(path)
    return files[0], files[1]
