"""Paint strokes as a layer over the intermediate image.

The canvas stores what the user painted as an RGBA layer (straight alpha) of the reference image's size,
not as a finished picture: the same strokes then apply to whatever intermediate image a later run produces.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image


def composite_paint(image: torch.Tensor, layer: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Paint ``layer`` over ``image``.

    image: [B, H, W, 3] in [0, 1] (ComfyUI IMAGE)
    layer: [h, w, 4] in [0, 1], straight alpha; resized to H×W (bilinear) when drawn at another size
    returns (painted [B, H, W, 3], mask [B, H, W] = the layer's alpha, the painted region's coverage)
    """
    if image.ndim != 4 or image.shape[-1] != 3:
        raise ValueError(f"image must be [B, H, W, 3], got {tuple(image.shape)}")
    if layer.ndim != 3 or layer.shape[-1] != 4:
        raise ValueError(f"paint layer must be [H, W, 4] (RGBA), got {tuple(layer.shape)}")
    b, h, w, _ = image.shape
    layer = layer.to(image.device, image.dtype)
    if tuple(layer.shape[:2]) != (h, w):
        # Resample premultiplied: straight-alpha RGB under transparent pixels (black in a canvas PNG) would
        # otherwise bleed into the stroke's edges.
        pre = torch.cat([layer[..., :3] * layer[..., 3:], layer[..., 3:]], dim=-1)
        pre = F.interpolate(pre.permute(2, 0, 1)[None], size=(h, w), mode="bilinear", align_corners=False)
        pre = pre[0].permute(1, 2, 0).clamp(0, 1)
        alpha = pre[..., 3:]
        layer = torch.cat([pre[..., :3] / alpha.clamp_min(1e-6), alpha], dim=-1).clamp(0, 1)
    rgb, alpha = layer[..., :3], layer[..., 3:4]
    painted = image * (1 - alpha) + rgb * alpha
    return painted, alpha[..., 0].expand(b, h, w).contiguous()


def load_layer(path: str | Path) -> torch.Tensor:
    """Read a paint layer file (any PIL format; no alpha channel means fully opaque).

    returns [H, W, 4] float32 in [0, 1], straight alpha
    """
    with Image.open(path) as img:
        rgba = np.asarray(img.convert("RGBA"), dtype=np.float32) / 255.0
    return torch.from_numpy(rgba.copy())
