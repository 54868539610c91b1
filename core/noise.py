"""Flow-warped noise (the paper's Eq. 3, R(ε)): frame 0's noise carried along the flow, still N(0, 1).

Bilinear warping averages neighbouring samples: at a half-pixel offset the result has variance
0.5² + 0.5² = 0.5, i.e. std 0.71, which a diffusion model reads as a different (under-noised) σ. Here each
warped sample is divided by the root of its bilinear weights' sum of squares, so it is exactly standard normal
again (a normalised sum of independent normals), and at integer offsets it is the source sample itself.
"""

from __future__ import annotations

import torch

from .warp import resize_flow


def warp_noise(noise: torch.Tensor, flow: torch.Tensor, fresh: torch.Tensor) -> torch.Tensor:
    """Variance-preserving backward warp of one noise frame into every frame of a flow.

    noise: [C, h, w] iid N(0, 1), the source (frame 0's) noise
    flow:  [F, h, w, 2] backward flow in pixels of h×w: frame f at p reads the source at p + flow[f, p]
    fresh: [F, C, h, w] iid N(0, 1) used where p + flow falls outside the frame (content entering the view)
    returns [F, C, h, w], every sample N(0, 1); where flow is an integer offset, exactly source[p + flow].
    """
    frames, h, w, _ = flow.shape
    c = noise.shape[0]
    ys, xs = torch.meshgrid(
        torch.arange(h, dtype=flow.dtype, device=flow.device),
        torch.arange(w, dtype=flow.dtype, device=flow.device),
        indexing="ij",
    )
    x = xs + flow[..., 0]
    y = ys + flow[..., 1]
    inside = (x >= 0) & (x <= w - 1) & (y >= 0) & (y <= h - 1)
    x0, y0 = x.floor(), y.floor()
    fx, fy = x - x0, y - y0
    x0 = x0.long().clamp(0, w - 1)
    y0 = y0.long().clamp(0, h - 1)
    x1 = (x0 + 1).clamp(max=w - 1)
    y1 = (y0 + 1).clamp(max=h - 1)
    flat = noise.reshape(c, h * w)
    out = torch.zeros(frames, c, h * w, dtype=noise.dtype, device=noise.device)
    norm = torch.zeros(frames, h * w, dtype=noise.dtype, device=noise.device)
    for xi, yi, wgt in (
        (x0, y0, (1 - fx) * (1 - fy)),
        (x1, y0, fx * (1 - fy)),
        (x0, y1, (1 - fx) * fy),
        (x1, y1, fx * fy),
    ):
        idx = (yi * w + xi).reshape(frames, 1, h * w).expand(frames, c, h * w)
        wgt = wgt.reshape(frames, h * w).to(noise.dtype)
        out += flat.unsqueeze(0).expand(frames, c, h * w).gather(2, idx) * wgt.unsqueeze(1)
        norm += wgt * wgt
    out = out / norm.clamp(min=1e-12).sqrt().unsqueeze(1)
    out = out.reshape(frames, c, h, w)
    return torch.where(inside.unsqueeze(1), out, fresh.to(out))


def flow_noise(
    shape: tuple[int, ...], flow: torch.Tensor, seed: int, variation: float = 0.0, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """Deterministic flow-warped noise for a latent of ``shape``.

    shape: (F, C, h, w) for frame-batched latents or (B, C, T, h, w) for video latents (each of the B
           videos gets its own base noise; the flow's frames are resampled linearly to T by the caller).
    flow:  [F, H, W, 2] backward flow in pixels of the IMAGE H×W (rescaled to h×w here); F must equal the
           latent's frame count, or be 1.
    seed:  the same seed gives the same noise (CPU generator, independent of device).
    variation: v in [0, 1]: each frame becomes sqrt(1 − v²)·warped + v·independent, still N(0, 1); 0 keeps the
           paper's R(ε) exactly (static regions share frame 0's noise), 1 is plain independent noise.
    returns a tensor of ``shape``.
    """
    if len(shape) not in (4, 5):
        raise ValueError(f"flow noise needs a [F, C, h, w] or [B, C, T, h, w] latent shape, got {tuple(shape)}")
    if not 0.0 <= variation <= 1.0:
        raise ValueError(f"variation must be in [0, 1], got {variation}")
    videos = 1 if len(shape) == 4 else shape[0]
    c = shape[1]
    frames = shape[0] if len(shape) == 4 else shape[2]
    h, w = shape[-2:]
    if flow.shape[0] not in (1, frames):
        raise ValueError(f"the flow has {flow.shape[0]} frames but the latent has {frames}")
    grid = resize_flow(flow.float().cpu(), h, w).expand(frames, -1, -1, -1)
    gen = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(videos):
        base = torch.randn((c, h, w), generator=gen)
        fresh = torch.randn((frames, c, h, w), generator=gen)
        own = torch.randn((frames, c, h, w), generator=gen)
        warped = warp_noise(base, grid, fresh)
        if variation > 0.0:
            warped = (1.0 - variation**2) ** 0.5 * warped + variation * own
        out.append(warped)
    if len(shape) == 4:
        return out[0].to(dtype)
    return torch.stack([v.transpose(0, 1) for v in out]).to(dtype)
