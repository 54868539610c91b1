"""The user's instructions, one role each, and the rule by which they compose.

Three roles (the paper's multimodal instructions beside the intermediate image itself):

- ``Paint`` (``IV_PAINT``): a painted target and its region. Inside the region the video shows the paint.
- motion (``IV_FLOW``, core.flow.Flow): a flow that moves the image, and the paint on it, frame by frame; its
  weight marks where the user specified motion (dragged and anchored regions).
- ``Align`` (``IV_ALIGN``): ties every frame to the image with a per-frame affinity (PIA-style decay), for
  temporal coherence.

The composition rule, per frame f at latent resolution (everything a plain function of the roles given):

    E   = z0 + P ⊙ (z0′ − z0)                the edited image: the intermediate image with the paint on it
    T_f = warp(E, flow_f)                     the edited image moved along the flow (E itself without a flow)
    M_f = max(warp(P, flow_f), D_f, a_f)      P: paint region, D_f: the flow's weight, a_f: the affinity

Every role shares the one target T_f, and their regions combine by ``max``: inside the (moved) paint the paint
is the target with full weight, inside a dragged region the moved image is, and elsewhere alignment pulls toward
the same moved, edited image weighted by a_f. No role dilutes another (a mean of targets would: paint under an
alignment of weight 1 would show half paint, half the unpainted image). At each sampling step the prediction
then moves toward the target inside the region, x̂₀ ← x̂₀ + s(σ)·M_f ⊙ (T_f − x̂₀) (core.blend).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .blend import downsample_weight, resample_frames
from .flow import Flow
from .warp import warp


@dataclass(frozen=True)
class Paint:
    """``IV_PAINT``: what the user painted, as raw VAE latents (not model-scaled).

    original: [1, C, h, w] z₀, the intermediate image before painting.
    painted:  [1 or F, C, h, w] z₀′, the painted image (opacity already applied: it is what should show).
    region:   [1 or F, 1, h, w] in [0, 1], where the paint applies.
    """

    original: torch.Tensor
    painted: torch.Tensor
    region: torch.Tensor

    def __post_init__(self) -> None:
        o, p, r = self.original, self.painted, self.region
        if o.ndim != 4 or o.shape[0] != 1:
            raise ValueError(f"paint: original must be one latent [1, C, h, w], got {tuple(o.shape)}")
        if p.ndim != 4 or tuple(p.shape[1:]) != tuple(o.shape[1:]):
            raise ValueError(f"paint: painted must be [1 or F, {o.shape[1]}, {o.shape[2]}, {o.shape[3]}], got {tuple(p.shape)}")
        if r.ndim != 4 or r.shape[1] != 1 or tuple(r.shape[2:]) != tuple(o.shape[2:]):
            raise ValueError(f"paint: region must be [1 or F, 1, {o.shape[2]}, {o.shape[3]}], got {tuple(r.shape)}")


@dataclass(frozen=True)
class Align:
    """``IV_ALIGN``: every frame tied to the image, frame f with weight ``affinity[f]``.

    image:    [1, C, h, w] raw VAE latent of the intermediate image (what a flow moves when nothing else carries it).
    affinity: [F] in [0, 1].
    """

    image: torch.Tensor
    affinity: torch.Tensor

    def __post_init__(self) -> None:
        if self.image.ndim != 4 or self.image.shape[0] != 1:
            raise ValueError(f"align: image must be one latent [1, C, h, w], got {tuple(self.image.shape)}")
        if self.affinity.ndim != 1:
            raise ValueError(f"align: affinity must be [F], got {tuple(self.affinity.shape)}")


@dataclass(frozen=True)
class Composed:
    """Per-frame target and weight of all instructions together, plus each role's own weight for previews.

    target: [F, C, h, w] raw latent; weight: [F, 1, h, w] in [0, 1] = max(paint, drag, align).
    """

    target: torch.Tensor
    weight: torch.Tensor
    paint: torch.Tensor
    drag: torch.Tensor
    align: torch.Tensor


class InstructionError(ValueError):
    """Instructions that cannot be composed; the message says what to connect or change."""


def edited_image(base: torch.Tensor, paints: list[Paint]) -> tuple[torch.Tensor, torch.Tensor]:
    """The image with every paint on it, in order (a later paint covers an earlier one), and the painted region.

    base: [1, C, h, w]  ->  (E [1 or F, C, h, w], P [1 or F, 1, h, w])
    """
    edited, covered = base.float(), torch.zeros_like(base[:, :1], dtype=torch.float32)
    for paint in paints:
        region = paint.region.float()
        edited = edited + region * (paint.painted.float() - edited)
        covered = 1.0 - (1.0 - covered) * (1.0 - region)
    return edited, covered


def _per_frame(values: torch.Tensor, frames: int, what: str, resample: bool) -> torch.Tensor:
    if values.shape[0] in (1, frames):
        return values.expand(frames, *values.shape[1:])
    if resample:
        return resample_frames(values, frames)
    raise InstructionError(
        f"{what} has {values.shape[0]} frames but the latent has {frames}: make it with {frames} frames (or, for "
        "an image, one frame)"
    )


def compose(
    frames: int,
    *,
    image: torch.Tensor | None = None,
    paints: list[Paint] | tuple[Paint, ...] = (),
    flow: Flow | None = None,
    align: Align | None = None,
    resample_time: bool = False,
) -> Composed | None:
    """All instructions for a latent of ``frames`` frames, by the rule in this module's docstring.

    image: [1, C, h, w] raw latent of the intermediate image; used only when no paint or align carries it
           (a drag on its own). paints, flow (image pixels, rescaled here), align: the roles.
    resample_time: resample frame counts that differ (5-D video latents) instead of refusing them.
    returns None when there is no instruction at all.
    """
    paints = list(paints)
    if not paints and flow is None and align is None:
        return None
    base = paints[0].original if paints else align.image if align is not None else image
    if base is None:
        raise InstructionError(
            "a flow moves an image, and none is connected: connect the intermediate image's latent (VAE Encode) "
            "to 'image', or a paint (IV_PaintEncode) or an alignment (IV_ImageAlign), which carry it"
        )
    for paint in paints[1:]:
        if tuple(paint.original.shape) != tuple(base.shape):
            raise InstructionError(
                f"the paints were encoded at different sizes ({tuple(base.shape)} and {tuple(paint.original.shape)}): "
                "encode every paint from the same intermediate image"
            )
    if align is not None and tuple(align.image.shape[1:]) != tuple(base.shape[1:]):
        raise InstructionError(
            f"the alignment's image latent is {tuple(align.image.shape[1:])} (C, h, w) but the paint's is "
            f"{tuple(base.shape[1:])}: encode both from the same image with the same VAE"
        )
    _, c, h, w = base.shape
    edited, painted = edited_image(base, paints)
    edited = _per_frame(edited, frames, "a paint", resample_time)
    painted = _per_frame(painted, frames, "a paint's region", resample_time)
    if flow is None:
        target, paint_weight = edited, painted
        drag = torch.zeros(frames, 1, h, w)
    else:
        motion = _per_frame(flow.flow.float(), frames, "the flow", resample_time)
        target = warp(edited.contiguous(), motion)
        paint_weight = warp(painted.contiguous(), motion, padding_mode="zeros")
        drag = downsample_weight(_per_frame(flow.weight.float(), frames, "the flow's weight", resample_time), h, w)
    if align is None:
        affinity = torch.zeros(frames, 1, 1, 1)
    else:
        affinity = _per_frame(align.affinity.float(), frames, "the alignment's affinity", resample_time)
        affinity = affinity.view(frames, 1, 1, 1)
    weight = torch.maximum(torch.maximum(paint_weight, drag), affinity.expand(frames, 1, h, w))
    return Composed(target.contiguous(), weight.clamp(0.0, 1.0), paint_weight, drag, affinity.expand(frames, 1, h, w))
