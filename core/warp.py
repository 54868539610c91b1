"""Backward warping of images and latents along an ``IV_FLOW`` flow field."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def resize_flow(flow: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Resample a flow field to another resolution, rescaling the displacements with it.

    flow: [F, H, W, 2] pixels of H×W  ->  [F, height, width, 2] pixels of height×width.
    """
    frames, h, w, _ = flow.shape
    if (h, w) == (height, width):
        return flow
    resized = F.interpolate(flow.permute(0, 3, 1, 2), size=(height, width), mode="bilinear", align_corners=False)
    scale = torch.tensor([width / w, height / h], dtype=flow.dtype, device=flow.device)
    return resized.permute(0, 2, 3, 1) * scale


def sampling_grid(flow: torch.Tensor) -> torch.Tensor:
    """``grid_sample`` grid (align_corners=False) that reads each pixel p at p + flow[p].

    flow: [F, H, W, 2] pixels  ->  [F, H, W, 2] normalised coordinates in [-1, 1] (pixel centres at k + 0.5).
    """
    _, h, w, _ = flow.shape
    ys, xs = torch.meshgrid(
        torch.arange(h, dtype=flow.dtype, device=flow.device),
        torch.arange(w, dtype=flow.dtype, device=flow.device),
        indexing="ij",
    )
    x = (xs + flow[..., 0] + 0.5) * (2.0 / w) - 1.0
    y = (ys + flow[..., 1] + 0.5) * (2.0 / h) - 1.0
    return torch.stack((x, y), dim=-1)


def warp(
    images: torch.Tensor, flow: torch.Tensor, mode: str = "bilinear", padding_mode: str = "border"
) -> torch.Tensor:
    """Backward-warp frames: output frame f at p = ``images[f or 0]`` at p + flow[f, p].

    images: [F or 1, C, H, W] (images or latents; one frame is warped into every frame of the flow)
    flow:   [F, Hf, Wf, 2] backward flow in pixels of Hf×Wf; rescaled to H×W here
    returns [F, C, H, W]
    """
    if images.ndim != 4 or flow.ndim != 4 or flow.shape[-1] != 2:
        raise ValueError(
            f"warp wants images [F, C, H, W] and flow [F, H, W, 2], got {tuple(images.shape)} and {tuple(flow.shape)}"
        )
    frames = flow.shape[0]
    if images.shape[0] not in (1, frames):
        raise ValueError(f"warp: {images.shape[0]} frames of images for a flow of {frames} frames")
    h, w = images.shape[-2:]
    grid = sampling_grid(resize_flow(flow.to(images.dtype if images.is_floating_point() else torch.float32), h, w))
    src = images.expand(frames, -1, -1, -1) if images.shape[0] == 1 else images
    return F.grid_sample(src, grid.to(src.dtype), mode=mode, padding_mode=padding_mode, align_corners=False)
