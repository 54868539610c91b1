"""The colour picture of a flow (the Middlebury convention): what Trajectory to Flow shows as its flow_colors."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch


def _colour_wheel() -> torch.Tensor:
    """The Middlebury optical-flow colour wheel (Baker et al. 2011): 55 hues.  ->  [55, 3] in [0, 1]"""
    segments = [(15, (1, 0, 0), (1, 1, 0)), (6, (1, 1, 0), (0, 1, 0)), (4, (0, 1, 0), (0, 1, 1))]
    segments += [(11, (0, 1, 1), (0, 0, 1)), (13, (0, 0, 1), (1, 0, 1)), (6, (1, 0, 1), (1, 0, 0))]
    rows = []
    for n, a, b in segments:
        t = torch.arange(n, dtype=torch.float32)[:, None] / n
        rows.append(torch.tensor(a, dtype=torch.float32) * (1 - t) + torch.tensor(b, dtype=torch.float32) * t)
    return torch.cat(rows)


def flow_to_color(
    flow: torch.Tensor, max_magnitude: float | None = None, check: Callable[[], None] | None = None
) -> torch.Tensor:
    """Standard colour-wheel picture of a flow: hue is direction, saturation is speed, white is still.

    flow: [F, H, W, 2] pixels  ->  [F, H, W, 3] RGB in [0, 1] (ComfyUI IMAGE layout)
    ``max_magnitude``: the speed shown fully saturated; default the largest in the whole clip, so frames
    of one clip compare. Computed a frame at a time (``check`` is called before each), so the temporaries
    stay one frame's size.
    """
    wheel = _colour_wheel().to(flow.device)
    if max_magnitude is None:
        top = max((float(torch.linalg.vector_norm(f.float(), dim=-1).max()) for f in flow), default=0.0)
    else:
        top = float(max_magnitude)
    out = torch.empty(*flow.shape[:-1], 3, device=flow.device)
    for f in range(flow.shape[0]):
        if check is not None:
            check()
        fx, fy = flow[f, ..., 0].float(), flow[f, ..., 1].float()
        magnitude = torch.sqrt(fx * fx + fy * fy)
        radius = (magnitude / top).clamp(max=1.0) if top > 0 else torch.zeros_like(magnitude)
        angle = torch.atan2(-fy, -fx) / math.pi  # in [-1, 1]
        position = (angle + 1.0) / 2.0 * (len(wheel) - 1)
        k0 = position.floor().long()
        k1 = (k0 + 1) % len(wheel)
        frac = (position - k0.float())[..., None]
        colour = wheel[k0] * (1 - frac) + wheel[k1] * frac
        out[f] = 1.0 - radius[..., None] * (1.0 - colour)
    return out
