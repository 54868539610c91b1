"""Dense optical flow: the ``Flow`` contract (``IV_FLOW``) and the operations on it.

Convention, used everywhere in the pack: flow is **backward** displacement in pixels of the flow's own H×W.
Frame f at pixel p shows frame 0 at ``p + flow[f, p]``; ``flow[0] == 0``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from .trajectory import TrackError, Tracks, parse_tracks, positions, scale_factors
from .warp import resize_flow


@dataclass(frozen=True)
class Flow:
    """``IV_FLOW``: per-frame backward flow and where motion was specified.

    flow:   [F, H, W, 2] float, (dx, dy) in pixels of this H×W; frame f at p shows frame 0 at p + flow[f, p].
    weight: [F, H, W] float in [0, 1]: 1 inside moving (or anchored) regions, feathered edges, 0 where the user
            specified nothing (there the video model is free).
    """

    flow: torch.Tensor
    weight: torch.Tensor

    def __post_init__(self) -> None:
        f = self.flow
        if f.ndim != 4 or f.shape[-1] != 2:
            raise ValueError(f"flow must be [F, H, W, 2], got {tuple(f.shape)}")
        if tuple(self.weight.shape) != tuple(f.shape[:3]):
            raise ValueError(f"weight must be [F, H, W] = {tuple(f.shape[:3])}, got {tuple(self.weight.shape)}")

    @property
    def frames(self) -> int:
        return int(self.flow.shape[0])

    @property
    def height(self) -> int:
        return int(self.flow.shape[1])

    @property
    def width(self) -> int:
        return int(self.flow.shape[2])


# A ring this wide (pixels) around each region moves rigidly with it, so that bilinear sampling of the region's
# anti-aliased edge is never stretched into the background behind it.
EDGE_MARGIN = 2.0
# Peak float32 values held per pixel per frame by tracks_to_flow followed by flow_to_color (flow 2, weight 1,
# the normaliser 1, colours 3, and the temporaries of one frame group), with a margin: the size guard's unit.
FLOW_FLOATS_PER_PIXEL = 10


def flow_bytes(frames: int, height: int, width: int) -> int:
    """Bytes that ``tracks_to_flow`` plus ``flow_to_color`` need at peak for a clip of this size (an estimate
    on the safe side, for checking before allocating)."""
    return int(frames) * int(height) * int(width) * FLOW_FLOATS_PER_PIXEL * 4


def tracks_to_flow(
    tracks: Tracks | str | dict | list,
    frames: int,
    height: int,
    width: int,
    masks: torch.Tensor | None = None,
    *,
    interpolation: str = "linear",
    falloff: float = 1.0,
    radius: float | None = None,
    device: torch.device | str = "cpu",
    check: Callable[[], None] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Dense backward flow that moves each track's region rigidly along its track.

    masks:   [B, Hm, Wm] in [0, 1] or None; a track with ``"mask": k`` moves region ``masks[k]`` (its place at
             frame 0), any other track a disk of its ``radius`` (track-space pixels; default ``radius`` or
             1/12 of the shorter side of the track space)
    check:   called between steps of the per-track work (a few milliseconds apart); it may raise to stop, as
             ComfyUI's interrupt check does
    returns  flow [frames, height, width, 2] backward pixels (flow[0] == 0) and
             weight [frames, height, width] in [0, 1]: each region at its frame-f place, feathered, anchors included

    In frame f a region with displacement d (its position at f minus at 0) reads frame 0 rigidly at its old
    place: flow = -phi d with phi = 1 on the region. Around it phi eases to 0 over ``falloff`` × radius; behind
    it, along the straight line back to (and ``falloff`` × radius beyond) its start, phi ramps down to 0 at a
    slope of at most 1 / (|d| + feather) along d. The map p -> p - phi(p) d therefore increases strictly along
    every line parallel to d: no fold-over however long the drag, and the uncovered place is filled by
    stretching the background just behind the start. Only pixels within (1 + falloff) × radius of the segment
    from a region's start to its frame-f place (and the square end of its trail) are touched, plus 3 pixels
    where the radii allow computing on a 2-pixel grid (then bilinearly upsampled; the rigid core stays exact).

    An anchor casts the same kind of ramp ahead of itself along each moving track, and a track's phi is capped
    by 1 minus it: anchored pixels get exactly zero flow, and the cap keeps the slope bound, so an anchor never
    folds a drag either; a region dragged off an anchor closer than the drag length is held back instead.
    Several tracks combine by normalised weights: sum of phi_i d_i over max(1, sum of phi_i).
    """
    regions, stride, pos = _regions(tracks, frames, height, width, masks, interpolation, falloff, radius, device, check)
    _warn_out_of_frame(pos, width, height)
    check = check or _no_check
    grid_h, grid_w = height // stride, width // stride

    moved = torch.zeros(2, frames, grid_h, grid_w, device=device)
    total = torch.zeros(frames, grid_h, grid_w, device=device)
    weight = torch.zeros(frames, grid_h, grid_w, device=device)
    anchors = [a for a in regions if a.anchor]
    for region in regions:
        u_all, ramp_all = region.direction()
        # Frames in small groups, each with its own box: early frames of a long track touch little.
        for group in _frame_groups(frames):
            check()
            box = region.box(grid_h, grid_w, group)
            if box is None:
                continue
            ys, xs = box
            u, ramp = u_all[group], ramp_all[group]
            phi, here = region.trail(region.path[group], u, ramp, ys, xs)
            torch.maximum(weight[group, ys, xs], here, out=here)
            weight[group, ys, xs] = here
            if region.anchor:
                continue
            for anchor in anchors:
                shadow, _ = anchor.trail(anchor.path[group], -u, ramp, ys, xs)
                phi = torch.minimum(phi, shadow.neg_().add_(1.0))
            d = region.d[group]
            moved[0, group, ys, xs].addcmul_(phi, d[:, 0, None, None])
            moved[1, group, ys, xs].addcmul_(phi, d[:, 1, None, None])
            total[group, ys, xs] += phi
    flow = moved.div_(total.clamp_(min=1.0)).neg_().permute(1, 2, 3, 0)
    if stride > 1:
        flow = resize_flow(flow, height, width)
        weight = F.interpolate(weight[:, None], size=(height, width), mode="bilinear", align_corners=False)[:, 0]
    return flow, weight


# What one trail evaluation costs beyond its pixels (a few dozen small tensor operations), in pixel-frames: on a
# 2-core CPU a pass over a tiny box takes ~0.4 ms and a pixel-frame ~10 ns.
TRAIL_PASS_CELLS = 40_000


def flow_work(
    tracks: Tracks | str | dict | list,
    frames: int,
    height: int,
    width: int,
    *,
    interpolation: str = "linear",
    falloff: float = 1.0,
    radius: float | None = None,
) -> int:
    """The work ``tracks_to_flow`` (disk regions, no masks) does for these arguments, without doing it: the
    pixel-frames its trail passes cover plus ``TRAIL_PASS_CELLS`` per pass, from the same regions and boxes.

    A moving region makes one pass over its box per frame group, and one more per anchor (the anchor's shadow is
    evaluated on the moving region's box): with many anchors the work grows as tracks × anchors, whatever the size.
    """
    regions, stride, _ = _regions(tracks, frames, height, width, None, interpolation, falloff, radius, "cpu", None)
    grid_h, grid_w = height // stride, width // stride
    anchors = sum(region.anchor for region in regions)
    work = 0
    for region in regions:
        passes = 1 if region.anchor else 1 + anchors
        for group in _frame_groups(frames):
            box = region.box(grid_h, grid_w, group)
            if box is not None:
                ys, xs = box
                cells = (ys.stop - ys.start) * (xs.stop - xs.start) * (group.stop - group.start)
                work += passes * (cells + TRAIL_PASS_CELLS)
    return work


def _regions(tracks, frames, height, width, masks, interpolation, falloff, radius, device, check):
    """Every track's region on the grid the flow is computed on, that grid's stride, and the tracks' positions
    [N, F, 2] in pixels (see tracks_to_flow)."""
    tracks = parse_tracks(tracks)
    if interpolation not in ("linear", "smooth"):
        raise ValueError(f"interpolation must be 'linear' or 'smooth', got {interpolation!r}")
    if frames < 1 or height < 1 or width < 1:
        raise ValueError(f"tracks_to_flow needs frames, height and width >= 1, got {frames}, {height}, {width}")
    pos = torch.as_tensor(positions(tracks, frames, width, height, interpolation), dtype=torch.float32)
    sx, sy = scale_factors(tracks, width, height)
    space = min(tracks.width or width, tracks.height or height)
    default_radius = radius if radius is not None else space / 12.0
    radii = [(t.radius if t.radius is not None else default_radius) * math.sqrt(sx * sy) for t in tracks.tracks]
    stride = _stride([falloff * r - EDGE_MARGIN for r in radii], height, width)
    region_masks = _track_masks(tracks, masks, height // stride, width // stride)

    check = check or _no_check
    regions = []
    for i, track in enumerate(tracks.tracks):
        check()
        r = radii[i] / stride
        feather = max(falloff * r - EDGE_MARGIN, 1.0)
        path = pos[i].to(device) / stride
        if track.anchor:
            path = path[:1].expand(frames, 2)
        mask = None if track.mask is None else region_masks[track.mask].to(device)
        regions.append(_Region(path, r + EDGE_MARGIN, feather, track.anchor, mask))
    return regions, stride, pos


def _no_check() -> None:
    pass


def _stride(feathers: list[float], height: int, width: int) -> int:
    """Grid step for computing the flow: 2 where every feather spans at least 12 pixels, else 1.

    There the flow is smooth enough to upsample bilinearly, and a region's core stays exactly rigid because it
    carries a margin of ``EDGE_MARGIN`` grid cells (more than the sqrt(2)-cell reach of bilinear sampling).
    Computing on a 2-pixel grid costs a quarter.
    """
    if feathers and min(feathers) >= 12.0 and height % 2 == 0 and width % 2 == 0:
        return 2
    return 1


@dataclass
class _Region:
    """One track's region, in cells of the grid the flow is computed on (pixels, or 2-pixel cells).

    path: [F, 2] its place per frame; r: core radius (disk) and feather in pixels; mask: [H, W] or None (disk).
    """

    path: torch.Tensor
    r: float
    feather: float
    anchor: bool
    mask: torch.Tensor | None

    def __post_init__(self) -> None:
        self.d = self.path - self.path[:1]
        if self.mask is not None:
            inside = (self.mask > 0.5).cpu().numpy().astype(np.uint8)
            distance = torch.from_numpy(cv2.distanceTransform(1 - inside, cv2.DIST_L2, 5)).to(self.mask.device)
            self.feathered = _smoothstep_out(distance - EDGE_MARGIN, self.feather)[None, None]

    def direction(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Unit direction of each frame's displacement (x where none) and the trailing ramp length.

        ->  u [F, 2], ramp [F] = |d| + feather
        """
        length = self.d.norm(dim=-1)
        safe = length.clamp(min=1e-6)[:, None]
        u = torch.where(length[:, None] > 1e-6, self.d / safe, self.d.new_tensor([1.0, 0.0]))
        return u, length + self.feather

    def box(self, height: int, width: int, frames: slice) -> tuple[slice, slice] | None:
        """The pixels this region's flow can touch in these frames, as (rows, columns) slices."""
        ends = torch.cat((self.path[:1], self.path[frames]))
        if self.mask is None:
            # Within a square of half-side sqrt(2) * (r + feather) (the trail's flat end has corners) around
            # the segment from the start to each frame's place.
            reach = math.sqrt(2.0) * (self.r + self.feather) + 1.0
            lo, hi = ends.min(0).values - reach, ends.max(0).values + reach
        else:
            rows, cols = torch.nonzero(self.mask > 0.5, as_tuple=True)
            if rows.numel() == 0:
                return None
            reach = 2 * self.feather + EDGE_MARGIN + 1
            shift = ends - ends[:1]
            lo = torch.stack((cols.min(), rows.min())).float() + shift.min(0).values - reach
            hi = torch.stack((cols.max(), rows.max())).float() + shift.max(0).values + reach
        x0, y0 = max(int(math.floor(lo[0])), 0), max(int(math.floor(lo[1])), 0)
        x1, y1 = min(int(math.ceil(hi[0])) + 1, width), min(int(math.ceil(hi[1])) + 1, height)
        if x0 >= x1 or y0 >= y1:
            return None
        return slice(y0, y1), slice(x0, x1)

    def trail(self, path, u, ramp, ys: slice, xs: slice) -> tuple[torch.Tensor, torch.Tensor]:
        """phi: 1 on the region at ``path``, ramping to 0 behind it (against ``u``) over ``ramp``; and the
        feathered region itself. Along u, phi rises at most 1 / ramp.

        path, u: [F, 2]; ramp: [F]  ->  two [F, h, w]
        """
        px, py = _pixel_centres(ys, xs, path.device)
        if self.mask is None:
            return _disk_trail(px, py, path, u, ramp, self.r, self.feather)
        return _mask_trail(px, py, self.feathered, path - self.path[:1], u, ramp)


def _smoothstep_out(distance: torch.Tensor, feather: float) -> torch.Tensor:
    """1 at distance <= 0, easing to 0 at distance >= feather (C1, slope at most 1.5 / feather).

    Works in place on ``distance`` (callers pass a temporary): this runs on every pixel of every frame.
    """
    s = distance.sub_(feather).div_(-feather).clamp_(0.0, 1.0)
    return s.mul(-2.0).add_(3.0).mul_(s).mul_(s)


def _frame_groups(frames: int, size: int = 4) -> list[slice]:
    return [slice(start, min(start + size, frames)) for start in range(0, frames, size)]


def _pixel_centres(ys: slice, xs: slice, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Centres (x, y) of the pixels in a box.  ->  two [h, w] tensors."""
    y = torch.arange(ys.start, ys.stop, dtype=torch.float32, device=device) + 0.5
    x = torch.arange(xs.start, xs.stop, dtype=torch.float32, device=device) + 0.5
    return x[None, :].expand(len(y), -1), y[:, None].expand(-1, len(x))


def _disk_trail(px, py, centre, u, ramp, r: float, feather: float):
    """A disk's trail and feathered disk.  px, py: [h, w]; centre, u: [F, 2]; ramp: [F]  ->  two [F, h, w]

    Runs on every pixel of every frame near every track: written as few in-place passes as possible.
    """
    ux, uy = u[:, 0, None, None], u[:, 1, None, None]
    # behind = (centre - p) . u and side = |(p - centre) x u|, each one multiply and one multiply-add.
    behind = (px[None] * -ux).addcmul_(py[None], -uy).add_((centre * u).sum(-1)[:, None, None])
    side = (
        (py[None] * ux).addcmul_(px[None], -uy).sub_((centre[:, 1] * u[:, 0] - centre[:, 0] * u[:, 1])[:, None, None])
    )
    region = _smoothstep_out(torch.hypot(behind, side).sub_(r), feather)
    # Behind the disk: 1 up to its rear tangent line, then down to 0 over the ramp; across the track the disk's
    # own falloff. Both factors are smooth, and only the ramp varies along u.
    in_front = behind <= 0
    inv = (1.0 / ramp)[:, None, None]
    keep = behind.mul_(-inv).add_(inv * (r + ramp[:, None, None])).clamp_(0.0, 1.0)
    trail = keep.mul_(_smoothstep_out(side.abs_().sub_(r), feather))
    return torch.where(in_front, region, trail), region


def _mask_trail(px, py, feathered, d, u, ramp):
    """A mask region's trail and feathered region: phi(p) = max over tau >= 0 of region(p + tau u) - tau / ramp.

    px, py: [h, w]; feathered: [1, 1, H, W] at frame 0; d, u: [F, 2]; ramp: [F]  ->  two [F, h, w]
    Computed by doubling tau (log2(ramp) resamplings), so its cost does not grow with the drag.
    """
    height, width = feathered.shape[-2:]
    frames, (box_h, box_w) = len(d), px.shape
    gx = (px[None] - d[:, 0, None, None]) * (2.0 / width) - 1.0
    gy = (py[None] - d[:, 1, None, None]) * (2.0 / height) - 1.0
    grid = torch.stack((gx, gy), dim=-1).reshape(1, frames * box_h, box_w, 2)
    region = F.grid_sample(feathered, grid, align_corners=False, padding_mode="zeros").reshape(frames, box_h, box_w)

    phi = region[:, None]
    base_x = ((torch.arange(box_w, device=px.device) + 0.5) * (2.0 / box_w) - 1.0)[None, None, :]
    base_y = ((torch.arange(box_h, device=px.device) + 0.5) * (2.0 / box_h) - 1.0)[None, :, None]
    step = 1.0
    while step < float(ramp.max()) + 1.0:
        sx = (base_x + (step * 2.0 / box_w) * u[:, 0, None, None]).expand(frames, box_h, box_w)
        sy = (base_y + (step * 2.0 / box_h) * u[:, 1, None, None]).expand(frames, box_h, box_w)
        ahead = F.grid_sample(phi, torch.stack((sx, sy), dim=-1), align_corners=False, padding_mode="zeros")
        phi = torch.maximum(phi, ahead - step / ramp[:, None, None, None])
        step *= 2.0
    return phi[:, 0].clamp(min=0.0), region


def _track_masks(tracks: Tracks, masks: torch.Tensor | None, height: int, width: int) -> torch.Tensor | None:
    """The MASK batch at the generation size, after checking every track's mask index.  ->  [B, H, W] or None"""
    wanted = [(i, t.mask) for i, t in enumerate(tracks.tracks) if t.mask is not None]
    count = 0 if masks is None else int(masks.shape[0])
    for i, k in wanted:
        if masks is None:
            raise TrackError(f"track {i}: uses mask {k} but no MASK batch was given; connect one or remove the mask")
        if k >= count:
            raise TrackError(f"track {i}: mask index {k} is out of range for a MASK batch of {count}")
    if masks is None:
        return None
    if masks.ndim == 2:
        masks = masks[None]
    m = masks.float()
    if tuple(m.shape[-2:]) != (height, width):
        m = F.interpolate(m[:, None], size=(height, width), mode="bilinear", align_corners=False)[:, 0]
    return m


def _warn_out_of_frame(pos: torch.Tensor, width: int, height: int) -> None:
    """pos: [N, F, 2]. Objects may leave the frame; say so, since it is easy to do by accident."""
    x, y = pos[..., 0], pos[..., 1]
    outside = (x < 0) | (y < 0) | (x > width) | (y > height)
    for i in torch.nonzero(outside.any(dim=1)).flatten().tolist():
        frames = torch.nonzero(outside[i]).flatten().tolist()
        warnings.warn(
            f"track {i}: outside the {width}x{height} frame at frame(s) {frames[0]}..{frames[-1]}; "
            "the region leaves the picture there",
            stacklevel=3,
        )
