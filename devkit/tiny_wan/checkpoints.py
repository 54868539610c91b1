"""The training's checkpoints (one set per stage, written atomically, so a run stopped anywhere resumes) and its
learning-rate schedule."""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch


def save(workdir: Path, name: str, modules: dict[str, torch.nn.Module], opt, progress: dict) -> None:
    from safetensors.torch import save_file

    for key, module in modules.items():
        tmp = workdir / f"{name}.{key}.partial"
        save_file({k: v.detach().contiguous() for k, v in module.state_dict().items()}, str(tmp))
        tmp.replace(workdir / f"{name}.{key}.safetensors")
    if opt is not None:
        tmp = workdir / f"{name}.opt.partial"
        torch.save(opt.state_dict(), tmp)
        tmp.replace(workdir / f"{name}.opt.pt")
    tmp = workdir / f"{name}.progress.partial"
    tmp.write_text(json.dumps(progress))
    tmp.replace(workdir / f"{name}.progress.json")


def load(workdir: Path, name: str, modules: dict[str, torch.nn.Module], opt) -> dict | None:
    from safetensors.torch import load_file

    progress_file = workdir / f"{name}.progress.json"
    if not progress_file.exists():
        return None
    for key, module in modules.items():
        module.load_state_dict(load_file(str(workdir / f"{name}.{key}.safetensors")))
    if opt is not None:
        opt.load_state_dict(torch.load(workdir / f"{name}.opt.pt", weights_only=True))
    return json.loads(progress_file.read_text())


def lr_at(step: int, total: int, peak: float, warmup: int) -> float:
    if step < warmup:
        return peak * (step + 1) / warmup
    t = (step - warmup) / max(1, total - warmup)
    return peak * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(1.0, t))))
