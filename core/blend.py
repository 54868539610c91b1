"""The residual blend (the paper's Eq. 4 on the model's x̂₀) and when, and how strongly, it acts.

What the instructions' target and region are is core.instructions' business; this module applies them.

Eq. 4 mixes two noise predictions, ε̂ = λ ε + (1 − λ) ε′. At a fixed σ the denoised prediction is
x̂₀ = x − σ ε, so the same mix in x̂₀ is exact; with ``strength`` s = 1 − λ the blend inside a region M is

    x̂₀ ← x̂₀ + s(σ) · M ⊙ (T − x̂₀)

which is 0 change at s = 0 (the model alone) and x̂₀ = T inside M at s = 1 (the instruction alone).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

CURVES = ("constant", "linear", "cosine")


@dataclass(frozen=True)
class Schedule:
    """Strength over sampling progress, measured in σ (not in steps).

    Progress is ComfyUI's sampling percent: 0 at the model's largest σ, 1 at σ = 0, the inverse of
    ``model_sampling.percent_to_sigma`` (for SD1.5-type schedules 1 − t/999). The same schedule therefore acts at
    the same noise levels whatever the step count, scheduler or denoise of the sampler.
    strength: s, the peak blend weight (1 − λ of the paper), in [0, 1].
    start, end: the span of progress where the blend acts; s = 0 outside.
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
        """Blend weight at a sampling progress in [0, 1] (0 at σ_max, 1 at σ = 0)."""
        if self.strength == 0.0 or progress < self.start or progress > self.end:
            return 0.0
        span = self.end - self.start
        u = 0.0 if span <= 0.0 else (progress - self.start) / span
        if self.curve == "linear":
            return self.strength * (1.0 - u)
        if self.curve == "cosine":
            return self.strength * 0.5 * (1.0 + math.cos(math.pi * u))
        return self.strength


# The nodes' defaults. The instructions act fully until 80 % of sampling progress (σ ≈ 0.4 on SD1.5's AnimateDiff
# schedule) and leave the last 20 % to the model: the final steps are the model's own refinement, never a latent
# average of model and target. Under a Gaussian analytic prior with unit data spread this makes three quarters of
# the instructed change (0.75 along it at 20 steps; end 0.9 makes 0.88: tests/comfy/test_instructions.py,
# test_the_default_schedule_lands_and_leaves_the_last_steps_to_the_model, measures it); stopping at 1.0 would make
# all of it by ending on the blend itself.
DEFAULT_SCHEDULE = Schedule(strength=1.0, start=0.0, end=0.8, curve="constant")


STEERING = ("residual", "region clock")


@dataclass(frozen=True)
class RegionClock:
    """Time-to-Move's dual clock (arXiv 2511.08633) in the residual's terms.

    TTM keeps the dragged region on the noised moved reference, x = (1 − σ)·T + σ·ε with one ε throughout, until
    a later σ than the background. Pinning the prediction, x̂₀ = T inside the region, does exactly that for every
    ODE sampler: when x = (1 − σ)T + σε and x̂₀ = T, the flow ODE's solution through x is (1 − σ′)T + σ′ε at every
    σ′, so the next step lands on the noised reference with the ε already in x (tests/core/test_blend.py checks
    it step by step), and no second copy of the latent is needed.

    release: sampling progress in σ until which the region (paint and drag) is pinned, strength 1; after it the
    region is the model's. The rest (alignment) follows the instructions' ``Schedule``, the background clock.
    """

    release: float

    def __post_init__(self) -> None:
        if not 0.0 <= self.release <= 1.0:
            raise ValueError(f"release must be in [0, 1], got {self.release}")

    def weight(
        self, region: torch.Tensor, align: torch.Tensor, progress: float, background: Schedule
    ) -> torch.Tensor | None:
        """The pull's weight at ``progress`` (to use with strength 1), or None when nothing acts.

        region: [N, 1, h, w] paint ∪ drag; align: [N, 1, h, w] the alignment's affinity  ->  [N, 1, h, w]
        """
        pinned = progress <= self.release
        s = background.at(progress)
        if not pinned and s == 0.0:
            return None
        if not pinned:
            return align * s
        if s == 0.0:
            return region
        return torch.maximum(region, align * s)


# Image Align's 'free_motion: keep': alignment lets go of a cell where the model's prediction differs from the
# target by about this much (mean over channels of the squared difference, in the model's latent units, where a
# latent has about unit spread: two unrelated contents are ~2 apart, the same content ~0). Chosen on the small Wan
# model's development scenes (edit scenes 1000-1031, never the benchmark's 0-49), drag + Image Align 'keep' with
# `moved`: free objects kept 62 / 71 % of their speed at 0.5 (two sets of 12 and 20 scenes), 68 % at 0.25 (first set),
# 80 % at 0.2 and 73 / 81 % at 0.1, against 78 / 94 % with no alignment at all; flicker where nothing moves rose
# from 0.50 to 0.57 /255 at 0.2 (0.72 without instructions). At 0.5, early steps' blurred predictions lie close
# enough to the still image to be held, and a free object held early never starts moving.
FREE_MOTION_TOLERANCE = 0.2


def free_motion_gate(x0: torch.Tensor, target: torch.Tensor, held: torch.Tensor, tolerance: float) -> torch.Tensor:
    """How much of the alignment still holds where the model moves something no instruction placed.

    x0, target: [N, C, h, w] the model's prediction and the instructions' target (same space);
    held: [1 or N, 1, h, w] in [0, 1], where paint or drag act at any frame (their sweep: the dragged object's
    whole path, the place it leaves included), where alignment always holds  ->  [N, 1, h, w] in [0, 1]:

        g = max(held, exp(−mean_c (x0 − T)² / tolerance))

    An alignment of weight a pulls with a·g. Where the prediction is the target g = 1, so wherever the model
    already agrees with the image (the still background) alignment is unchanged; where a free object moves, the
    prediction shows it elsewhere than the image does and the alignment lets it move instead of freezing it.
    """
    if tolerance <= 0.0:
        raise ValueError(f"tolerance must be > 0, got {tolerance}")
    distance = (x0.float() - target.float()).square().mean(1, keepdim=True)
    return torch.maximum(held.to(distance), torch.exp(-distance / tolerance)).to(x0.dtype)


def pull(x0: torch.Tensor, target: torch.Tensor, weight: torch.Tensor, strength: float) -> torch.Tensor:
    """One step's residual: the prediction moved toward the target inside its region, x0 + s·M⊙(T − x0).

    x0, target: [N, C, h, w] (same space); weight: [N, 1, h, w] in [0, 1]  ->  [N, C, h, w]
    At s = 1 the prediction is the target wherever M = 1; where M = 0 it is untouched.
    """
    if strength == 0.0:
        return x0
    return torch.addcmul(x0, weight, target - x0, value=strength)


def mix_predictions(x0: torch.Tensor, x0_edit: torch.Tensor, mask: torch.Tensor, strength: float) -> torch.Tensor:
    """Eq. 4 on denoised predictions, inside a region: x0 + s·M⊙(x0_edit − x0).

    x0, x0_edit: [F, C, h, w] predictions on the original and the instruction path; mask: [F, 1, h, w].
    """
    if strength == 0.0:
        return x0
    return x0 + strength * mask * (x0_edit - x0)


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
