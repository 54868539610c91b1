"""Dense optical flow: the ``Flow`` contract (``IV_FLOW``) and the operations on it.

Convention, used everywhere in the pack: flow is **backward** displacement in pixels of the flow's own H×W.
Frame f at pixel p shows frame 0 at ``p + flow[f, p]``; ``flow[0] == 0``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Flow:
    """``IV_FLOW``: per-frame backward flow and where motion was specified.

    flow:   [F, H, W, 2] float, (dx, dy) in pixels of this H×W; frame f at p shows frame 0 at p + flow[f, p].
    weight: [F, H, W] float in [0, 1]: 1 inside moving (or anchored) regions, feathered edges, 0 where the user
            specified nothing (there the video model is free).
    """

    flow: torch.Tensor
    weight: torch.Tensor

    def __post_init__(self) -> None:
        f = self.flow
        if f.ndim != 4 or f.shape[-1] != 2:
            raise ValueError(f"flow must be [F, H, W, 2], got {tuple(f.shape)}")
        if tuple(self.weight.shape) != tuple(f.shape[:3]):
            raise ValueError(f"weight must be [F, H, W] = {tuple(f.shape[:3])}, got {tuple(self.weight.shape)}")

    @property
    def frames(self) -> int:
        return int(self.flow.shape[0])

    @property
    def height(self) -> int:
        return int(self.flow.shape[1])

    @property
    def width(self) -> int:
        return int(self.flow.shape[2])
