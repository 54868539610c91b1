"""VAE internals: whether a VAE is a causal video VAE, its temporal stride, and images encoded as the codes the
instructions use (core.frames)."""

from __future__ import annotations

import torch

from ...core.frames import FrameMapping, still_pixel_frames


def temporal_stride(vae) -> int | None:
    """Pixel frames per latent frame of a causal video VAE (4 for Wan 2.1/2.2), None for an image VAE."""
    formula = getattr(vae, "downscale_index_formula", None)
    if getattr(vae, "latent_dim", 2) == 3 and formula:
        return int(formula[0])
    return None


def latent_frames(latent: dict | torch.Tensor) -> torch.Tensor:
    """A LATENT's samples frame by frame, float: a video VAE's [B, C, T, h, w] (its first clip) -> [T, C, h, w];
    an image VAE's batch [B, C, h, w] is already one latent per frame."""
    samples = latent["samples"] if isinstance(latent, dict) else latent
    return (samples[0].transpose(0, 1) if samples.ndim == 5 else samples).float()


def encode_codes(vae, images: torch.Tensor) -> torch.Tensor:
    """Raw latents of ``images`` as the instructions hold them (core.instructions.Paint, Align).

    images: [B, H, W, 3] in [0, 1]  ->  image VAE: [B, C, h, w], one latent per image. Causal video VAE: one image
    becomes a still of ``still_pixel_frames`` frames and its codes for latent frames 0, 1 and ≥ 2 [3, C, h, w];
    several images are one clip and give its latent frames [T, C, h, w].
    """
    stride = temporal_stride(vae)
    if stride is None:
        latent = vae.encode(images)
        return (latent[:, :, 0] if latent.ndim == 5 else latent).float()
    if images.shape[0] == 1:
        images = images.expand(still_pixel_frames(FrameMapping(stride)), -1, -1, -1)
    return latent_frames(vae.encode(images))
