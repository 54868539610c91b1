"""Where the user painted: a soft region from the difference between the original and the painted image."""

from __future__ import annotations

import cv2
import numpy as np
import torch


def painted_region(
    original: torch.Tensor, painted: torch.Tensor, threshold: float = 0.04, grow: int = 8, feather: int = 8
) -> torch.Tensor:
    """Soft mask of the pixels a user changed.

    original: [1|B, H, W, C] image in [0, 1]; painted: [B, H, W, C] (same H, W, C)
    threshold: a pixel counts as painted where its largest channel difference exceeds this.
    grow: pixels to dilate the region by (covers anti-aliased stroke edges and the VAE's 8-pixel footprint).
    feather: width in pixels of the soft edge, laid outside the grown region (which stays exactly 1): the mask
             falls from 1 to 0 as a smoothstep of the distance to the region over ``feather`` pixels; 0 = hard.
    returns [B, H, W] float in [0, 1].

    The raw difference is cleaned before growing: an opening (3×3 square, so rectangles survive it intact) drops isolated specks such as JPEG noise
    and a closing (5×5) fills pinholes inside strokes, so neither gets grown into a blob.
    """
    if original.ndim != 4 or painted.ndim != 4 or original.shape[1:] != painted.shape[1:]:
        raise ValueError(
            f"original and painted must be [B, H, W, C] of one size, got {tuple(original.shape)} and "
            f"{tuple(painted.shape)}"
        )
    diff = (painted.float() - original.float()).abs().amax(dim=-1).cpu().numpy()
    open_k = cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3))
    close_k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    out = []
    for frame in diff:
        hard = (frame > threshold).astype(np.uint8)
        hard = cv2.morphologyEx(hard, cv2.MORPH_OPEN, open_k)
        hard = cv2.morphologyEx(hard, cv2.MORPH_CLOSE, close_k)
        out.append(_grow_and_feather(hard, grow, feather))
    return torch.stack(out)


def region_from_mask(mask: torch.Tensor, threshold: float = 0.04, grow: int = 8, feather: int = 8) -> torch.Tensor:
    """The region of a given mask, with the same options as a detected one.

    mask: [B, H, W] or [H, W] in [0, 1], e.g. the canvas's paint coverage (the layer's alpha, soft at brush edges)
    threshold: a pixel belongs to the region where the mask exceeds this (any visible paint, at any opacity).
    grow, feather: as ``painted_region``.
    returns [B, H, W] float in [0, 1]: 1 on the whole region, so a stroke's opacity is not applied a second time
    (the painted image already carries it); soft only in the feather laid outside.

    Unlike a detected difference nothing is opened away: a given mask is intentional, thin strokes included.
    """
    m = mask if mask.ndim == 3 else mask.unsqueeze(0)
    hard = (m.float() > threshold).cpu().numpy().astype(np.uint8)
    return torch.stack([_grow_and_feather(frame, grow, feather) for frame in hard])


def _grow_and_feather(hard: np.ndarray, grow: int, feather: int) -> torch.Tensor:
    """A hard [H, W] uint8 region dilated by ``grow`` pixels, then a smoothstep edge ``feather`` pixels wide laid
    outside it.  ->  [H, W] float32 in [0, 1]"""
    if grow > 0:
        hard = cv2.dilate(hard, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1)))
    soft = hard.astype(np.float32)
    if feather > 0 and hard.any():
        distance = cv2.distanceTransform((1 - hard).astype(np.uint8), cv2.DIST_L2, 5)
        ramp = np.clip(1.0 - distance / float(feather), 0.0, 1.0)
        soft = ramp * ramp * (3.0 - 2.0 * ramp)
    return torch.from_numpy(np.clip(soft, 0.0, 1.0))


def to_latent(mask: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """A pixel mask at latent resolution: each latent cell gets the largest value among the pixels it covers.

    mask: [B, H, W] in [0, 1] -> [B, 1, height, width]
    The largest, not the mean: a stroke thinner than a cell (8 pixels for SD1.5's VAE) still covers the cells it
    crosses fully, where an average would weaken it to its share of the cell (a 6-pixel line: 0.75 at most).
    """
    if mask.ndim != 3:
        raise ValueError(f"mask must be [B, H, W], got {tuple(mask.shape)}")
    return torch.nn.functional.adaptive_max_pool2d(mask.float().unsqueeze(1), (height, width))
