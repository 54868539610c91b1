"""Flow-warped noise (the paper's Eq. 3, R(ε)): frame 0's noise carried along the flow, N(0, 1) and white.

Construction (integral noise warping, after Chang et al., "How I Warped Your Noise", ICLR 2024): a latent noise
sample is the integral of a continuous white-noise field over its pixel. Each source pixel x is refined into
k×k sub-pixels conditionally on its value, X_i = x/k² + (Z_i − mean Z)/k with Z iid N(0, 1): the X_i are iid
N(0, 1/k²) and sum exactly to x. Frame f's pixel p has a footprint in frame 0 through the backward flow, taken as
the axis-aligned rectangle whose edges lie halfway between the mapped centre of p and those of its four
neighbours (but at most half a pixel from p's own), snapped to the sub-pixel grid; its value is the sum of the n
sub-pixels inside, times k/√n, read from a summed-area table (four reads per sample).

Guarantees, in every frame (up to float32 rounding, ~1e-5):

- every sample is N(0, 1): a sum of n iid N(0, 1/k²) values times k/√n;
- horizontally and vertically adjacent samples are independent: two neighbours share the edge between their
  rectangles, so their sub-pixel sets are disjoint, however much the flow stretches (a drag's trail, a zoom).
  Bilinear warping renormalised per sample is N(0, 1) too but not white: in a 5× stretched trail neighbours
  read points 0.2 px apart and correlate ≈ 0.96, low-frequency noise the model reads as structure;
- a whole-pixel translation gives the source sample itself; a fractional one keeps frame 0's noise in proportion
  to the overlap: correlation 1 − t with the source pixel at a shift of t px (footprints snap to 1/k px). No
  white linear warp that varies continuously with the shift does much better: somewhere between two pixels it
  must correlate equally with both, and whiteness (|K̂(ω)| ≤ 1) bounds that by 2/π ≈ 0.64 (here 0.5). Only
  snapping to the nearest pixel keeps 1, at the price of noise that jumps a whole latent pixel in time;
- frames share the sub-pixel field: content that stops keeps its noise, content that moves a little changes a
  little;
- a sample whose rectangle holds no sub-pixel of frame 0 (its source lies outside the frame, or the flow
  stretches it beyond k×) gets fresh noise.

``flow_noise`` adds time: frame 0 is the base noise; later frames carry it where the content moves and give
still pixels independent noise per frame (a smooth, variance-preserving blend between the two), or repeat frame
0's noise there with ``frozen=True`` (the paper's R(ε) as is).
"""

from __future__ import annotations

import math

import torch

from .warp import resize_flow

# Sub-pixels per latent pixel along each axis: footprints are snapped to 1/k of a pixel.
SUBPIXELS = 8
# Displacement (latent pixels) below which a pixel counts as still and gets fresh noise per frame, and above
# which it carries frame 0's noise fully; smoothstep in between.
STILL_BELOW = 1.0 / 64.0
MOVING_ABOVE = 1.0 / 8.0


def _edges(centres: torch.Tensor, dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Low and high edge of each pixel's footprint along ``dim``, from the mapped centres of it and its neighbours.

    centres: [F, h, w] mapped centre coordinate along this axis (pixels of frame 0)  ->  lo, hi [F, h, w]

    The edge between two neighbours is the midpoint of their mapped centres, shared by both so that their
    footprints never overlap, as long as the two keep their order and lie at most a pixel apart (the flow
    stretches or translates). Where they lie further apart (the flow compresses: a gap) or swap (a fold, which
    tracks_to_flow never makes), each keeps half a pixel on that side of its own centre.
    """
    lo, hi = centres - 0.5, centres + 0.5
    n = centres.shape[dim]
    if n < 2:
        return lo, hi
    before, after = centres.narrow(dim, 0, n - 1), centres.narrow(dim, 1, n - 1)
    mid = (before + after) * 0.5
    lo_inner, hi_inner = lo.narrow(dim, 1, n - 1), hi.narrow(dim, 0, n - 1)
    lo_inner.copy_(torch.where((mid >= lo_inner) & (mid <= after), mid, lo_inner))
    hi_inner.copy_(torch.where((mid <= hi_inner) & (mid >= before), mid, hi_inner))
    return lo, hi


def _summed_area_table(noise: torch.Tensor, k: int, generator: torch.Generator | None) -> torch.Tensor:
    """Refine each sample into k×k sub-pixels that sum to it, and return their summed-area table.

    noise: [C, h, w]  ->  [(k·h + 1)·(k·w + 1), C]; row Y·(k·w + 1) + X is the sum of the sub-pixels above and left
    of sub-pixel corner (Y, X), channels last so that one read fetches all of them.
    """
    c, h, w = noise.shape
    z = torch.randn((h, k, w, k, c), generator=generator)
    z.sub_(z.mean(dim=(1, 3), keepdim=True)).mul_(1.0 / k).add_(noise.permute(1, 2, 0)[:, None, :, None] / (k * k))
    table = torch.zeros((k * h + 1, k * w + 1, c))
    inner = table[1:, 1:]
    torch.cumsum(z.reshape(k * h, k * w, c), 0, out=inner)
    torch.cumsum(inner, 1, out=inner)
    return table.reshape(-1, c)


def _integral_warp(
    noise: torch.Tensor, flow: torch.Tensor, generator: torch.Generator | None, k: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """The integral warp without the fresh fill.

    noise: [C, h, w]; flow: [F, h, w, 2] pixels of h×w  ->  values [F, C, h, w] float32 (arbitrary where not
    inside) and inside [F, 1, h, w] bool (the footprint keeps at least one sub-pixel of the frame)
    """
    frames, h, w, _ = flow.shape
    c = noise.shape[0]
    noise = noise.float().cpu()
    flow = flow.float().cpu()
    cx = flow[..., 0] + (torch.arange(w, dtype=torch.float32) + 0.5)
    cy = flow[..., 1] + (torch.arange(h, dtype=torch.float32)[:, None] + 0.5)
    x0, x1 = (e.mul_(k).round_().clamp_(0, k * w).long() for e in _edges(cx, dim=2))
    y0, y1 = (e.mul_(k).round_().clamp_(0, k * h).long() for e in _edges(cy, dim=1))
    width, height = x1 - x0, y1 - y0
    area = width.clamp(min=0) * height.clamp(min=0)

    table = _summed_area_table(noise, k, generator)
    stride = k * w + 1
    top, bottom = y0 * stride, y1 * stride
    total = table.index_select(0, (bottom + x1).flatten())
    total -= table.index_select(0, (top + x1).flatten())
    total -= table.index_select(0, (bottom + x0).flatten())
    total += table.index_select(0, (top + x0).flatten())
    total *= (k / area.clamp(min=1).float().sqrt()).reshape(-1, 1)
    # A footprint that is exactly one source pixel reads it directly: exact at whole-pixel offsets, where the
    # table's float32 sums would be off by ~1e-5.
    whole = ((width == k) & (height == k) & (x0 % k == 0) & (y0 % k == 0)).reshape(-1, 1)
    cell = ((y0 // k).clamp_(max=h - 1) * w + (x0 // k).clamp_(max=w - 1)).flatten()
    total = torch.where(whole, noise.reshape(c, h * w).t().index_select(0, cell), total)
    values = total.reshape(frames, h, w, c).permute(0, 3, 1, 2)
    return values, (area > 0).unsqueeze(1)


def warp_noise(
    noise: torch.Tensor,
    flow: torch.Tensor,
    fresh: torch.Tensor,
    *,
    generator: torch.Generator | None = None,
    subpixels: int = SUBPIXELS,
) -> torch.Tensor:
    """Integral (white, variance-preserving) backward warp of one noise frame into every frame of a flow.

    noise: [C, h, w] iid N(0, 1), the source (frame 0's) noise
    flow:  [F, h, w, 2] backward flow in pixels of h×w: frame f at p reads the source at p + flow[f, p]
    fresh: [F, C, h, w] iid N(0, 1) used where p's footprint falls outside the frame (content entering the view)
    generator: draws the sub-pixel refinement of ``noise`` (k²·C·h·w normals); None: torch's global one
    returns [F, C, h, w] on noise's device and dtype: every sample N(0, 1), horizontal and vertical neighbours
    independent; where flow is a whole-pixel offset, exactly source[p + flow]. See the module docstring.
    """
    values, inside = _integral_warp(noise, flow, generator, int(subpixels))
    return torch.where(inside, values, fresh.float().cpu()).to(noise)


def _bilinear_warp_noise(noise: torch.Tensor, flow: torch.Tensor, fresh: torch.Tensor) -> torch.Tensor:
    """The former warp, kept as the control of the tests and the benchmark: bilinear, each sample renormalised.

    noise: [C, h, w]; flow: [F, h, w, 2] pixels of h×w; fresh: [F, C, h, w]  ->  [F, C, h, w]
    Every sample is N(0, 1), but where the flow stretches, neighbours read nearly the same source points and
    correlate (≈ 0.96 in a 5× stretched trail): not white.
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


def carried_share(flow: torch.Tensor) -> torch.Tensor:
    """How much of frame 0's noise each pixel carries: 0 where still, 1 where moving, smoothstep between.

    flow: [F, h, w, 2] pixels of h×w  ->  [F, h, w] in [0, 1]
    """
    fx, fy = flow[..., 0], flow[..., 1]
    t = (fx * fx + fy * fy).sqrt_().sub_(STILL_BELOW).div_(MOVING_ABOVE - STILL_BELOW).clamp_(0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def latent_flow(flow: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """``resize_flow`` to the latent, by slicing where the image is a whole multiple of it.

    flow: [F, H, W, 2] pixels of H×W  ->  [F, height, width, 2] float32 on the CPU, pixels of height×width

    The same bilinear taps (align_corners=False: output i reads input (i + 0.5)·s − 0.5, two taps for even s, one
    for odd), ~1 ms where F.interpolate takes ~40 ms on the [F, 2, H, W]-strided flows tracks_to_flow returns.
    """
    flow = flow.float().cpu()
    frames, h, w, _ = flow.shape
    if h % height or w % width:
        return resize_flow(flow, height, width)
    sy, sx = h // height, w // width
    for dim, s in ((1, sy), (2, sx)):
        if s > 1:
            first = flow.narrow(dim, (s - 1) // 2, flow.shape[dim] - (s - 1) // 2)
            taps = first[:, ::s] if dim == 1 else first[:, :, ::s]
            if s % 2 == 0:
                second = flow.narrow(dim, s // 2, flow.shape[dim] - s // 2)
                taps = (taps + (second[:, ::s] if dim == 1 else second[:, :, ::s])) * 0.5
            flow = taps
    return flow * torch.tensor([1.0 / sx, 1.0 / sy])


def flow_noise(
    shape: tuple[int, ...],
    flow: torch.Tensor,
    seed: int,
    variation: float = 0.0,
    dtype: torch.dtype = torch.float32,
    *,
    frozen: bool = False,
) -> torch.Tensor:
    """Deterministic flow-warped noise for a latent of ``shape``: N(0, 1) per sample and white in space.

    shape: (F, C, h, w) for frame-batched latents or (B, C, T, h, w) for video latents (each of the B
           videos gets its own base noise; the flow holds one frame per latent frame: the caller maps pixel
           frames to latent frames through core.frames).
    flow:  [F, H, W, 2] backward flow in pixels of the IMAGE H×W (rescaled to h×w here); F must equal the
           latent's frame count, or be 1.
    seed:  the same seed gives the same noise (CPU generator, independent of device).
    variation: v in [0, 1]: each frame becomes sqrt(1 − v²)·warped + v·independent, still N(0, 1); 1 is plain
           independent noise.
    frozen: False (default): frame 0 is the base noise; in later frames moving pixels carry it along the flow
           (``warp_noise``) and still ones get independent noise per frame, so nothing sticks to the screen.
           Still means a displacement under ``STILL_BELOW`` latent pixels, moving over ``MOVING_ABOVE``; in
           between a·warped + sqrt(1 − a²)·independent with a the smoothstep (``carried_share``): N(0, 1)
           everywhere, and no seam. True: the paper's R(ε) as is, still pixels repeat frame 0's noise.
    returns a tensor of ``shape``; samples whose footprint leaves the frame are independent noise.
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
    grid = latent_flow(flow, h, w).expand(frames, -1, -1, -1)
    carried = torch.ones(frames, 1, h, w) if frozen else carried_share(grid).unsqueeze(1)
    carried[0] = 1.0  # frame 0 is the base noise itself
    carried *= math.sqrt(1.0 - variation**2)
    gen = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(videos):
        base = torch.randn((c, h, w), generator=gen)
        own = torch.randn((frames, c, h, w), generator=gen)
        warped, inside = _integral_warp(base, grid, gen, SUBPIXELS)
        # Outside the frame the sample is own noise alone: no second draw for the fresh fill.
        share = torch.where(inside, carried, 0.0)
        out.append(own.mul_((1.0 - share * share).clamp_(min=0.0).sqrt_()).addcmul_(share, warped))
    if len(shape) == 4:
        return out[0].to(dtype)
    return torch.stack([v.transpose(0, 1) for v in out]).to(dtype)
