"""The ``Edit`` contract (``IV_EDIT``): what a user instruction asks of the latent video."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Edit:
    """``IV_EDIT``: a per-frame latent target and where (and how strongly) it applies.

    target:        [1 or F, C, h, w] z₀′, the edited image's latent (raw VAE latent, not model-scaled; the
                   model's latent format is applied where it meets the sampler). One frame is broadcast to all.
    original:      [1, C, h, w] z₀, the unedited intermediate image's latent, or None where there is none
                   (alignment edits target the original itself).
    mask:          [1 or F, 1, h, w] soft region in [0, 1] at latent resolution.
    frame_weights: [F] per-frame multipliers (e.g. PIA-style alignment decay), or None for 1 everywhere.
    """

    target: torch.Tensor
    mask: torch.Tensor
    original: torch.Tensor | None = None
    frame_weights: torch.Tensor | None = None

    def __post_init__(self) -> None:
        t, m = self.target, self.mask
        if t.ndim != 4:
            raise ValueError(f"target must be [1 or F, C, h, w], got {tuple(t.shape)}")
        if m.ndim != 4 or m.shape[1] != 1 or tuple(m.shape[2:]) != tuple(t.shape[2:]):
            raise ValueError(f"mask must be [1 or F, 1, {t.shape[2]}, {t.shape[3]}], got {tuple(m.shape)}")
        if self.original is not None and tuple(self.original.shape[1:]) != tuple(t.shape[1:]):
            raise ValueError(
                f"original must match target's [C, h, w] {tuple(t.shape[1:])}, got {tuple(self.original.shape)}"
            )
        if self.frame_weights is not None and self.frame_weights.ndim != 1:
            raise ValueError(f"frame_weights must be [F], got {tuple(self.frame_weights.shape)}")
