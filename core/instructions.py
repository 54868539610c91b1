"""The user's instructions, one role each, and the rule by which they compose.

Three roles (the paper's multimodal instructions beside the intermediate image itself):

- ``Paint`` (``IV_PAINT``): a painted target and its region. Inside the region the video shows the paint.
- motion (``IV_FLOW``, core.flow.Flow): a flow that moves the image, and the paint on it, frame by frame; its
  weight marks where the user specified motion (dragged and anchored regions).
- ``Align`` (``IV_ALIGN``): ties every frame to the image with a per-frame affinity (PIA-style decay), for
  temporal coherence; with a ``tolerance`` it lets go where the model moves what no instruction placed.

The composition rule, per frame f at latent resolution (everything a plain function of the roles given):

    E   = z0 + P ⊙ (z0′ − z0)                the edited image: the intermediate image with the paint on it
    T_f = warp(E, flow_f)                     the edited image moved along the flow (E itself without a flow)
                                              or, given the moved video's latent V: V_f + warp(P, flow_f) ⊙ (T_f − V_f)
    M_f = max(warp(P, flow_f), D_f, a_f)      P: paint region, D_f: the flow's weight, a_f: the affinity

Every role shares the one target T_f, and their regions combine by ``max``: inside the (moved) paint the paint
is the target with full weight, inside a dragged region the moved image is, and elsewhere alignment pulls toward
the same moved, edited image weighted by a_f. No role dilutes another (a mean of targets would: paint under an
alignment of weight 1 would show half paint, half the unpainted image). At each sampling step the prediction
then moves toward the target inside the region, x̂₀ ← x̂₀ + s(σ)·M_f ⊙ (T_f − x̂₀) (core.blend).

The moved video's latent V (``moved``) is the motion preview, the edited image moved frame by frame in pixels,
encoded by the model's VAE. Under a causal video VAE a latent frame holds several pixel frames (4 for Wan), and a
latent moved by their mean flow decodes as all of them at the mean place: the last frame lags by half a group's
motion. V holds the motion within each group as the VAE encodes it. Inside the moved paint the latent-moved paint
stays the target, so V may be the preview of the image with or without the paint.

An alignment with a tolerance (Image Align's 'free motion: keep') weighs a_f by g_f = max(S, exp(−|x̂₀ − T_f|²/τ))
at each step (core.blend.free_motion_gate), S = max_f max(warp(P, flow_f), D_f) the instructions' sweep: a still
image held on every frame would freeze the objects the model moves by itself, which no instruction asked for.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .blend import downsample_weight
from .flow import Flow
from .frames import IDENTITY, STILL_CODES, FrameCountError, FrameMapping
from .warp import warp


@dataclass(frozen=True)
class Paint:
    """``IV_PAINT``: what the user painted, as raw VAE latents (not model-scaled).

    original: [K, C, h, w] z₀, the intermediate image before painting: K = 1, or under a causal video VAE the
              STILL_CODES codes of the image held still (core.frames).
    painted:  [K or F, C, h, w] z₀′, the painted image (opacity already applied: it is what should show), F
              latent frames for a paint per frame.
    region:   [1 or F, 1, h, w] in [0, 1], where the paint applies (F frames: per pixel frame, or latent frame).
    """

    original: torch.Tensor
    painted: torch.Tensor
    region: torch.Tensor

    def __post_init__(self) -> None:
        o, p, r = self.original, self.painted, self.region
        if o.ndim != 4 or o.shape[0] not in (1, STILL_CODES):
            raise ValueError(
                f"paint: original must be one latent [1, C, h, w] (or a still's {STILL_CODES} codes), got "
                f"{tuple(o.shape)}"
            )
        if p.ndim != 4 or tuple(p.shape[1:]) != tuple(o.shape[1:]):
            raise ValueError(
                f"paint: painted must be [K or F, {o.shape[1]}, {o.shape[2]}, {o.shape[3]}], got {tuple(p.shape)}"
            )
        if r.ndim != 4 or r.shape[1] != 1 or tuple(r.shape[2:]) != tuple(o.shape[2:]):
            raise ValueError(f"paint: region must be [1 or F, 1, {o.shape[2]}, {o.shape[3]}], got {tuple(r.shape)}")


@dataclass(frozen=True)
class Align:
    """``IV_ALIGN``: every frame tied to the image, frame f with weight ``affinity[f]``.

    image:     [K, C, h, w] raw VAE latent of the intermediate image (K = 1, or a still's STILL_CODES codes).
    affinity:  [F] in [0, 1], per pixel frame (or per latent frame).
    tolerance: 0 holds every frame to the image wholly (PIA); > 0 lets go where the model's prediction differs
               from the target by about this much (core.blend.free_motion_gate): free objects keep moving.
    """

    image: torch.Tensor
    affinity: torch.Tensor
    tolerance: float = 0.0

    def __post_init__(self) -> None:
        if self.image.ndim != 4 or self.image.shape[0] not in (1, STILL_CODES):
            raise ValueError(
                f"align: image must be one latent [1, C, h, w] (or a still's {STILL_CODES} codes), got "
                f"{tuple(self.image.shape)}"
            )
        if self.affinity.ndim != 1:
            raise ValueError(f"align: affinity must be [F], got {tuple(self.affinity.shape)}")
        if not self.tolerance >= 0.0:
            raise ValueError(f"align: tolerance must be >= 0, got {self.tolerance}")


@dataclass(frozen=True)
class Composed:
    """Per-frame target and weight of all instructions together, plus each role's own weight for previews.

    target: [F, C, h, w] raw latent; weight: [F, 1, h, w] in [0, 1] = max(paint, drag, align);
    paint, drag, align: [F, 1, h, w] each role's weight; sweep: [1, 1, h, w] max over frames of paint and drag;
    tolerance: the alignment's (0: it holds wholly, and ``weight`` is what acts).
    """

    target: torch.Tensor
    weight: torch.Tensor
    paint: torch.Tensor
    drag: torch.Tensor
    align: torch.Tensor
    sweep: torch.Tensor
    tolerance: float = 0.0

    def repeated(self, times: int) -> Composed:
        """The same for ``times`` videos in one batch, frames of each video consecutive ([times·F, ·, h, w])."""
        frames = {k: getattr(self, k).repeat(times, 1, 1, 1) for k in ("target", "weight", "paint", "drag", "align")}
        return Composed(**frames, sweep=self.sweep, tolerance=self.tolerance)


MOVED_WITHOUT_FLOW = (
    "'moved' is the motion preview of a flow, and no flow is connected: connect the flow (Trajectory to Flow (IV)) "
    "that made it, or disconnect 'moved'"
)


class InstructionError(ValueError):
    """Instructions that cannot be composed; the message says what to connect or change."""


def edited_image(
    base: torch.Tensor, paints: list[Paint], frames: int | None = None, mapping: FrameMapping = IDENTITY
) -> tuple[torch.Tensor, torch.Tensor]:
    """The image with every paint on it, in order (a later paint covers an earlier one), and the painted region.

    base: [K, C, h, w]  ->  (E [K or F, C, h, w], P [K or F, 1, h, w]), by broadcasting; with ``frames``, every
    input first reaches the latent's frames through ``mapping`` (codes expanded, per-pixel-frame regions by max)
    and both are [frames, ·, h, w].
    """
    if frames is not None:
        base = mapping.expand_codes(base, frames, "the image's latent")
    edited, covered = base.float(), torch.zeros_like(base[:, :1], dtype=torch.float32)
    for paint in paints:
        region, painted = paint.region.float(), paint.painted.float()
        if frames is not None:
            region = mapping.fit(region, frames, "a paint's region", "max")
            painted = mapping.expand_codes(painted, frames, "a painted image")
        edited = edited + region * (painted - edited)
        covered = 1.0 - (1.0 - covered) * (1.0 - region)
    return edited, covered


def _checked_moved(moved: torch.Tensor, frames: int, chw: tuple[int, int, int]) -> torch.Tensor:
    if moved.ndim != 4 or moved.shape[0] != frames or tuple(moved.shape[1:]) != chw:
        raise InstructionError(
            f"'moved' is {tuple(moved.shape)} ([frames, C, h, w]) but the sampled latent needs ({frames}, {chw[0]}, "
            f"{chw[1]}, {chw[2]}): encode Motion Preview (IV)'s frames of the video's length and size with the "
            "model's VAE (VAE Encode)"
        )
    return moved.float()


def compose(
    frames: int,
    *,
    image: torch.Tensor | None = None,
    paints: list[Paint] | tuple[Paint, ...] = (),
    flow: Flow | None = None,
    align: Align | None = None,
    moved: torch.Tensor | None = None,
    mapping: FrameMapping = IDENTITY,
) -> Composed | None:
    """All instructions for a latent of ``frames`` (latent) frames, by the rule in this module's docstring.

    image: [K, C, h, w] raw latent of the intermediate image; used only when no paint or align carries it
           (a drag on its own). paints, flow (image pixels, rescaled here), align: the roles.
    moved: [frames, C, h, w] raw latent of the motion preview (the edited image moved along the flow, in pixels),
           encoded with the model's VAE; needs the flow. It is the target outside the moved paint.
    mapping: how the VAE laid pixel frames into these latent frames (core.frames): per-pixel-frame flows,
           weights and affinities reach latent frames through it, image codes are expanded by it.
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
    if moved is not None and flow is None:
        raise InstructionError(MOVED_WITHOUT_FLOW)
    try:
        edited, painted = edited_image(base, paints, frames, mapping)
        if flow is None:
            target, paint_weight = edited, painted
            drag = torch.zeros(frames, 1, h, w)
        else:
            motion = mapping.fit(flow.flow.float(), frames, "the flow", "mean")
            target = warp(edited.contiguous(), motion)
            paint_weight = warp(painted.contiguous(), motion, padding_mode="zeros")
            drag = downsample_weight(mapping.fit(flow.weight.float(), frames, "the flow's weight", "max"), h, w)
            if moved is not None:
                moved = _checked_moved(moved, frames, (c, h, w))
                target = moved + paint_weight * (target - moved)
        if align is None:
            affinity = torch.zeros(frames, 1, 1, 1)
        else:
            affinity = mapping.fit(align.affinity.float(), frames, "the alignment's affinity", "mean")
            affinity = affinity.view(frames, 1, 1, 1)
    except FrameCountError as e:
        raise InstructionError(str(e)) from e
    region = torch.maximum(paint_weight.expand(frames, 1, h, w), drag)
    weight = torch.maximum(region, affinity.expand(frames, 1, h, w))
    return Composed(
        target.contiguous(),
        weight.clamp(0.0, 1.0),
        paint_weight,
        drag,
        affinity.expand(frames, 1, h, w),
        region.amax(0, keepdim=True).clamp(0.0, 1.0),
        0.0 if align is None else float(align.tolerance),
    )
