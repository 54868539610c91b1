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


# A paint layer is the size of the image painted on; beyond this many pixels (8192 x 8192; 1 GiB as floats) a file
# is refused before it is decoded, which also stops decompression bombs (tiny files of enormous images).
MAX_LAYER_PIXELS = 8192 * 8192


class PaintLayerError(ValueError):
    """A paint layer file that cannot be used; the message names the file and the problem."""


def load_layer(path: str | Path) -> torch.Tensor:
    """Read a paint layer file (any PIL format; no alpha channel means fully opaque).

    returns [H, W, 4] float32 in [0, 1], straight alpha
    Raises ``PaintLayerError`` for a file that is not an image, is damaged, or has more than ``MAX_LAYER_PIXELS``.
    """
    name = Path(path).name
    try:
        with Image.open(path) as img:
            w, h = img.size
            if w * h > MAX_LAYER_PIXELS:
                raise PaintLayerError(
                    f"paint layer {name!r} is {w}x{h} pixels, more than a layer may have ({MAX_LAYER_PIXELS:,}); "
                    "paint on a smaller image or resize the layer"
                )
            rgba = np.asarray(img.convert("RGBA"), dtype=np.float32) / 255.0
    except PaintLayerError:
        raise
    except Image.DecompressionBombError as e:
        raise PaintLayerError(f"paint layer {name!r} is refused as a decompression bomb ({e})") from None
    except (OSError, ValueError, SyntaxError, Image.UnidentifiedImageError) as e:
        raise PaintLayerError(
            f"paint layer {name!r} is not an image that can be read ({type(e).__name__}: {e}); paint on the "
            "canvas again so it is re-uploaded, or clear the paint field"
        ) from None
    return torch.from_numpy(rgba.copy())
