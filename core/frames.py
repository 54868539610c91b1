"""Pixel frames ↔ latent frames: the one place where time changes resolution.

Image VAEs (SD1.5, and AnimateDiff's batch of frames) give one latent frame per pixel frame. Causal video VAEs
(Wan 2.1 / 2.2, HunyuanVideo: stride r = 4) encode the first pixel frame on its own and every later group of r
frames into one latent frame:

    latent frame 0      ↔ pixel frame 0
    latent frame k ≥ 1  ↔ pixel frames r(k−1)+1 … rk          (r = 4: 4k−3 … 4k)

so F pixel frames give (F − 1)//r + 1 latent frames (trailing frames that do not fill a group are dropped, as the
VAE drops them). Everything the instructions hold per pixel frame (flow, the flow's weight, affinity) reaches a
latent frame through ``FrameMapping.to_latent``: a motion as the mean of its group's (the latent frame's time is
its group's middle), a region as the max (a region instructed in any of its frames is instructed in the latent).

A still image has more than one code under a causal VAE: the first frame is encoded alone, the second group
sees the first through the causal convolutions, later groups see a still past (ComfyUI's own HuMo code lists
three codes of a grey frame: first, second, rest). ``STILL_CODES`` = 3 codes, encoded from a still of
``still_pixel_frames`` frames, stand for the image in every latent frame (``expand_codes``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

REDUCTIONS = ("mean", "max")
# Latent frames 0, 1 and "2 or later" of a still image under a causal video VAE.
STILL_CODES = 3


class FrameCountError(ValueError):
    """Frame counts that no mapping reconciles; the message says which counts would."""


@dataclass(frozen=True)
class FrameMapping:
    """How a VAE lays pixel frames into latent frames (this module's docstring). stride 1: one per pixel frame."""

    stride: int = 1

    def __post_init__(self) -> None:
        if self.stride < 1:
            raise ValueError(f"stride must be at least 1, got {self.stride}")

    @property
    def causal(self) -> bool:
        return self.stride > 1

    def latent_count(self, pixel_frames: int) -> int:
        """Latent frames of a clip of ``pixel_frames`` frames."""
        if pixel_frames < 1:
            raise ValueError(f"a clip has at least one frame, got {pixel_frames}")
        return (pixel_frames - 1) // self.stride + 1

    def pixel_count(self, latent_frames: int) -> int:
        """The shortest clip with ``latent_frames`` latent frames (what a flow for that latent should have)."""
        return self.stride * (latent_frames - 1) + 1

    def pixel_frames_of(self, k: int) -> range:
        """The pixel frames latent frame ``k`` encodes."""
        if k < 0:
            raise ValueError(f"latent frame {k} does not exist")
        if k == 0 or self.stride == 1:
            return range(k, k + 1)
        return range(self.stride * (k - 1) + 1, self.stride * k + 1)

    def latent_frame_of(self, pixel_frame: int) -> int:
        """The latent frame that encodes ``pixel_frame``."""
        if pixel_frame < 0:
            raise ValueError(f"pixel frame {pixel_frame} does not exist")
        return pixel_frame if self.stride == 1 else (pixel_frame + self.stride - 1) // self.stride

    def to_latent(self, values: torch.Tensor, reduce: str) -> torch.Tensor:
        """Per-pixel-frame values reduced to the latent frames that encode them.

        values: [F, ...] -> [(F − 1)//r + 1, ...]; ``reduce`` "mean" (motions, affinities) or "max" (regions).
        """
        if reduce not in REDUCTIONS:
            raise ValueError(f"reduce must be one of {REDUCTIONS}, got {reduce!r}")
        if self.stride == 1:
            return values
        count = self.latent_count(values.shape[0])
        used = values[: self.pixel_count(count)]
        if count == 1:
            return used
        groups = used[1:].reshape(count - 1, self.stride, *values.shape[1:])
        rest = groups.mean(dim=1) if reduce == "mean" else groups.amax(dim=1)
        return torch.cat([used[:1], rest.to(values.dtype)])

    def fit(self, values: torch.Tensor, latent_frames: int, what: str, reduce: str) -> torch.Tensor:
        """Per-frame values for a latent of ``latent_frames`` frames: one frame is broadcast, one per latent frame
        is kept, one per pixel frame of a clip with that many latent frames is reduced (``to_latent``).

        values: [1 | latent_frames | F with latent_count(F) = latent_frames, ...] -> [latent_frames, ...]
        """
        count = values.shape[0]
        if count == 1:
            return values.expand(latent_frames, *values.shape[1:])
        if count == latent_frames:
            return values
        if self.causal and self.latent_count(count) == latent_frames:
            return self.to_latent(values, reduce)
        if self.causal:
            raise FrameCountError(
                f"{what} has {count} frames but the video latent has {latent_frames} latent frames, which hold "
                f"{self.pixel_count(latent_frames)} to {self.pixel_count(latent_frames) + self.stride - 1} pixel "
                f"frames (latent frame k ≥ 1 encodes pixel frames {self.stride}k−{self.stride - 1} … {self.stride}k): "
                f"make it with {self.pixel_count(latent_frames)} frames, the video's length"
            )
        raise FrameCountError(
            f"{what} has {count} frames but the latent has {latent_frames}: make it with {latent_frames} frames "
            "(or, for an image, one frame)"
        )

    def expand_codes(self, codes: torch.Tensor, latent_frames: int, what: str) -> torch.Tensor:
        """Latent codes of an image for every latent frame.

        codes: [1 | latent_frames | STILL_CODES (causal only), ...] -> [latent_frames, ...]; STILL_CODES codes are
        a still's latent frames 0, 1 and ≥ 2, latent frame k takes code min(k, 2).
        """
        count = codes.shape[0]
        if count == 1:
            return codes.expand(latent_frames, *codes.shape[1:])
        if count == latent_frames:
            return codes
        if self.causal and count == STILL_CODES:
            index = torch.arange(latent_frames).clamp(max=STILL_CODES - 1)
            return codes[index]
        raise FrameCountError(
            f"{what} has {count} latent frames but the latent has {latent_frames}: encode one image"
            + (f" (or a still of {still_pixel_frames(self)} frames)" if self.causal else "")
            + f" or {latent_frames} frames"
        )


IDENTITY = FrameMapping(1)


def still_pixel_frames(mapping: FrameMapping) -> int:
    """Frames of the still clip whose encoding gives the ``STILL_CODES`` codes of an image (9 for stride 4)."""
    return mapping.pixel_count(STILL_CODES)


def mapping_for_counts(pixel_frames: int, latent_frames: int, strides: tuple[int, ...] = (4, 8, 6)) -> FrameMapping:
    """The mapping that turns ``pixel_frames`` into ``latent_frames`` when nothing names the VAE: identity when
    they are equal, else the first causal stride of ``strides`` that fits (Wan and HunyuanVideo: 4)."""
    if pixel_frames in (1, latent_frames):
        return IDENTITY
    for stride in strides:
        mapping = FrameMapping(stride)
        if mapping.latent_count(pixel_frames) == latent_frames:
            return mapping
    raise FrameCountError(
        f"{pixel_frames} frames do not make a video latent of {latent_frames} frames: for Wan's VAE (latent frame "
        f"k ≥ 1 encodes pixel frames 4k−3 … 4k) give {FrameMapping(4).pixel_count(latent_frames)} frames"
    )
