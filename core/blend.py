"""The residual blend (the paper's Eq. 4 on the model's x̂₀) and when, and how strongly, it acts.

Eq. 4 mixes two noise predictions, ε̂ = λ ε + (1 − λ) ε′. At a fixed σ the denoised prediction is
x̂₀ = x − σ ε, so the same mix in x̂₀ is exact; with ``strength`` s = 1 − λ the blend inside a region M is

    x̂₀ ← x̂₀ + s(σ) · M ⊙ (T − x̂₀)

which is 0 change at s = 0 (the model alone) and x̂₀ = T inside M at s = 1 (the instruction alone).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .edit import Edit
from .flow import Flow
from .warp import warp

CURVES = ("constant", "linear", "cosine")


@dataclass(frozen=True)
class Schedule:
    """Strength over sampling progress.

    strength: s, the peak blend weight (1 − λ of the paper), in [0, 1].
    start, end: the span of sampling progress (0 = first step, 1 = last) where the blend acts; s = 0 outside.
    curve: decay of s over the span, with u = (progress − start) / (end − start) in [0, 1]:
        constant  s(u) = s
        linear    s(u) = s · (1 − u)
        cosine    s(u) = s · (1 + cos(π u)) / 2
    """

    strength: float
    start: float = 0.0
    end: float = 1.0
    curve: str = "constant"

    def __post_init__(self) -> None:
        if self.curve not in CURVES:
            raise ValueError(f"curve must be one of {CURVES}, got {self.curve!r}")
        if not 0.0 <= self.start <= self.end <= 1.0:
            raise ValueError(f"need 0 <= start <= end <= 1, got start={self.start}, end={self.end}")

    def at(self, progress: float) -> float:
        """Blend weight at a sampling progress in [0, 1] (ComfyUI's percent: 0 at σ_max, 1 at σ = 0)."""
        if self.strength == 0.0 or progress < self.start or progress > self.end:
            return 0.0
        span = self.end - self.start
        u = 0.0 if span <= 0.0 else (progress - self.start) / span
        if self.curve == "linear":
            return self.strength * (1.0 - u)
        if self.curve == "cosine":
            return self.strength * 0.5 * (1.0 + math.cos(math.pi * u))
        return self.strength


def blend(x0: torch.Tensor, targets: list[torch.Tensor], masks: list[torch.Tensor], strength: float) -> torch.Tensor:
    """Pull a prediction toward each target inside its region; overlapping regions share the pull.

    x0:      [F, C, h, w] the model's denoised prediction (sampler space).
    targets: K tensors [F, C, h, w] (same space), one per instruction.
    masks:   K tensors [F, 1, h, w] in [0, 1].
    returns  [F, C, h, w]: x0 + s · Σ_k M_k ⊙ (T_k − x0) / max(1, Σ_k M_k)

    With one instruction this is x0 + s·M⊙(T − x0). Where regions overlap the pull is their mask-weighted mean,
    so it never overshoots past the targets.
    """
    if strength == 0.0 or not targets:
        return x0
    total = torch.zeros_like(masks[0])
    pull = torch.zeros_like(x0)
    for target, mask in zip(targets, masks, strict=True):
        pull = pull + mask * (target - x0)
        total = total + mask
    return x0 + strength * pull / total.clamp(min=1.0)


def mix_predictions(x0: torch.Tensor, x0_edit: torch.Tensor, mask: torch.Tensor, strength: float) -> torch.Tensor:
    """Eq. 4 on denoised predictions, inside a region: x0 + s·M⊙(x0_edit − x0).

    x0, x0_edit: [F, C, h, w] predictions on the original and the instruction path; mask: [F, 1, h, w].
    """
    if strength == 0.0:
        return x0
    return x0 + strength * mask * (x0_edit - x0)


def resample_frames(values: torch.Tensor, frames: int) -> torch.Tensor:
    """Linear resampling along the first (time) axis; one frame is broadcast.

    values: [F, ...] -> [frames, ...]; frame i of the result sits at time i·(F−1)/(frames−1) of the input.
    """
    count = values.shape[0]
    if count == frames:
        return values
    if count == 1:
        return values.expand(frames, *values.shape[1:])
    if frames == 1:
        return values[:1]
    pos = torch.linspace(0.0, count - 1.0, frames, dtype=torch.float64)
    lo = pos.floor().long().clamp(max=count - 2)
    frac = (pos - lo).to(values.dtype).view(-1, *([1] * (values.ndim - 1)))
    return values[lo] * (1.0 - frac) + values[lo + 1] * frac


def _frames(values: torch.Tensor, frames: int, what: str, resample: bool) -> torch.Tensor:
    if values.shape[0] in (1, frames):
        return values.expand(frames, *values.shape[1:])
    if resample:
        return resample_frames(values, frames)
    raise ValueError(
        f"{what} has {values.shape[0]} frames but the latent batch has {frames}: make it with {frames} frames "
        "(or one frame, which applies to every frame)"
    )


def downsample_weight(weight: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """A per-pixel weight at another resolution (area average down, bilinear up).

    weight: [F, H, W] -> [F, 1, height, width]
    """
    w = weight.unsqueeze(1).float()
    if tuple(w.shape[-2:]) == (height, width):
        return w
    if w.shape[-2] >= height and w.shape[-1] >= width:
        return torch.nn.functional.adaptive_avg_pool2d(w, (height, width))
    return torch.nn.functional.interpolate(w, size=(height, width), mode="bilinear", align_corners=False)


def frame_instruction(
    edit: Edit, flow: Flow | None, frames: int, resample_time: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-frame target and region of one instruction, at the edit's latent resolution (raw latent space).

    edit: target [1|F, C, h, w], mask [1|F, 1, h, w], frame_weights [F] or None (see core.edit.Edit)
    flow: flow [F, H, W, 2] backward pixels of the image H×W, weight [F, H, W]; or None
    returns (T [frames, C, h, w], M [frames, 1, h, w]):
        without flow: T_f = target_f,               M_f = a_f · mask_f
        with flow:    T_f = warp(target, flow)_f,   M_f = max(a_f · warp(mask, flow)_f, W_f)
    where a_f = frame_weights[f] (1 if None) and W_f is the flow's weight at latent resolution. A single-frame
    target/mask is warped into every frame, so a painted object travels with its trajectory.
    ``resample_time`` resamples inputs whose frame count differs (5-D video latents); otherwise that is an error.
    """
    _, _, h, w = edit.target.shape
    target = _frames(edit.target.float(), frames, "the edit's target", resample_time)
    region = _frames(edit.mask.float(), frames, "the edit's mask", resample_time)
    weights = torch.ones(frames, 1, 1, 1)
    if edit.frame_weights is not None:
        weights = _frames(edit.frame_weights.float(), frames, "the edit's frame_weights", resample_time)
        weights = weights.view(frames, 1, 1, 1)
    if flow is None:
        return target, region * weights.to(region)
    moved = _frames(flow.flow.float(), frames, "the flow", resample_time)
    moved_weight = downsample_weight(_frames(flow.weight.float(), frames, "the flow's weight", resample_time), h, w)
    # A single source frame is warped into every frame (the intermediate image travels along the flow).
    source = edit.target.float() if edit.target.shape[0] == 1 else target
    source_region = edit.mask.float() if edit.mask.shape[0] == 1 else region
    warped_target = warp(source, moved.to(source.device))
    warped_region = warp(source_region, moved.to(source.device), padding_mode="zeros") * weights.to(source_region)
    return warped_target, torch.maximum(warped_region, moved_weight.to(warped_region))
