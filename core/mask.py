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
        if grow > 0:
            hard = cv2.dilate(hard, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1)))
        soft = hard.astype(np.float32)
        if feather > 0 and hard.any():
            distance = cv2.distanceTransform((1 - hard).astype(np.uint8), cv2.DIST_L2, 5)
            ramp = np.clip(1.0 - distance / float(feather), 0.0, 1.0)
            soft = ramp * ramp * (3.0 - 2.0 * ramp)
        out.append(torch.from_numpy(np.clip(soft, 0.0, 1.0)))
    return torch.stack(out)


def to_latent(mask: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """A pixel mask at latent resolution: each latent pixel gets the mean of the image pixels it covers.

    mask: [B, H, W] in [0, 1] -> [B, 1, height, width]
    """
    if mask.ndim != 3:
        raise ValueError(f"mask must be [B, H, W], got {tuple(mask.shape)}")
    return torch.nn.functional.adaptive_avg_pool2d(mask.float().unsqueeze(1), (height, width))
