"""PIA-style image alignment: how strongly each frame stays tied to the conditioning (intermediate) image.

PIA (Zhang et al. 2024) conditions every frame on the image latent with a per-frame *affinity*: 1 at the
condition frame, decaying with the distance to it. The presets are PIA's published statistics; "loop" presets
mirror over the second half of the clip so the last frame returns to the first.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

# PIA's affinity statistics: ``values[d]`` is the affinity of a frame d frames away from the condition frame.
AFFINITY_PRESETS: dict[str, tuple[float, ...]] = {
    "animation S": (1.0, 0.9, 0.85, 0.85, 0.85, 0.8),
    "animation M": (1.0, 0.8, 0.8, 0.8, 0.79, 0.78, 0.75),
    "animation L": (1.0, 0.8, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.6, 0.5, 0.5),
    "loop S": (1.0, 0.9, 0.85, 0.85, 0.85, 0.8),
    "loop M": (1.0, 0.8, 0.8, 0.8, 0.79, 0.78, 0.75),
    "loop L": (1.0, 0.8, 0.7, 0.7, 0.7, 0.7, 0.6, 0.5),
    "style transfer S": (0.5, 0.4, 0.4, 0.4, 0.35, 0.3),
    "style transfer M": (0.5, 0.4, 0.4, 0.4, 0.35, 0.35, 0.3, 0.25, 0.2),
    "style transfer L": (0.5, 0.2),
}


def parse_affinity_values(text: str) -> tuple[float, ...]:
    """A custom affinity list typed by a user, e.g. ``"1, 0.8, 0.7"``; each value in [0, 1]."""
    parts = [p for p in text.replace(";", ",").replace(" ", ",").split(",") if p]
    try:
        values = tuple(float(p) for p in parts)
    except ValueError as e:
        raise ValueError(
            f"custom affinity must be numbers separated by commas, e.g. '1, 0.8, 0.7'; got {text!r}"
        ) from e
    if not values:
        raise ValueError("custom affinity is empty: give at least one value, e.g. '1, 0.8, 0.7'")
    if any(not 0.0 <= v <= 1.0 for v in values):
        raise ValueError(f"custom affinity values must lie in [0, 1], got {values}")
    return values


def frame_affinity(frames: int, cond_frame: int, values: Sequence[float], loop: bool = False) -> torch.Tensor:
    """Per-frame affinity to the condition frame: frame i gets ``values[|i − cond_frame|]``, last value repeated.

    With ``loop`` the list (padded to the clip length) is first mirrored over the second half — entry j becomes
    ``values[min(j, frames − 1 − j)]`` — so frames near the end of a loop are as tied as those near its start.
    returns [frames] float32
    """
    if frames < 1:
        raise ValueError(f"frames must be at least 1, got {frames}")
    if not 0 <= cond_frame < frames:
        raise ValueError(f"condition frame {cond_frame} is outside the clip's frames 0..{frames - 1}")
    if not values:
        raise ValueError("affinity values are empty")
    padded = list(values) + [values[-1]] * max(0, frames - len(values))
    if loop:
        padded = [padded[min(j, frames - 1 - j)] for j in range(frames)]
    return torch.tensor([padded[abs(i - cond_frame)] for i in range(frames)], dtype=torch.float32)


def preset_affinity(frames: int, cond_frame: int, preset: str, custom: str = "") -> torch.Tensor:
    """``frame_affinity`` for a named preset (``AFFINITY_PRESETS``) or ``"custom"`` with a typed list.

    returns [frames] float32
    """
    if preset == "custom":
        return frame_affinity(frames, cond_frame, parse_affinity_values(custom))
    if preset not in AFFINITY_PRESETS:
        raise ValueError(f"unknown affinity preset {preset!r}; choose one of {[*AFFINITY_PRESETS, 'custom']}")
    return frame_affinity(frames, cond_frame, AFFINITY_PRESETS[preset], loop=preset.startswith("loop"))
