"""One frame of the motion preview, for the edit canvas while the user drags: the image warped along the tracks.

The same computation as IV_TrajectoryToFlow → IV_MotionPreview (``tracks_to_flow`` then ``warp``), for a single
frame. A frame's flow depends only on where each region is at frame 0 and at that frame (``_Region`` reads
``path[f] - path[0]``), so the flow of frame f is the flow of a two-frame clip whose tracks go straight from their
frame-0 place to their frame-f place: computing it costs one frame, not the clip.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from .flow import tracks_to_flow
from .trajectory import INTERPOLATIONS, Tracks, parse_tracks
from .warp import warp


def track_positions(tracks: Tracks | str | dict | list, frames: int, interpolation: str = "smooth") -> np.ndarray:
    """Every track's place at every frame, in the tracks' own space (as the flow moves them).

    returns [N, frames, 2] (x, y); anchors stay at their first point
    """
    tracks = parse_tracks(tracks)
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"interpolation must be one of {INTERPOLATIONS}, got {interpolation!r}")
    pos = tracks.resample(max(int(frames), 1), interpolation)
    for i, t in enumerate(tracks.tracks):
        if t.anchor:
            pos[i] = pos[i, :1]
    return pos


def single_frame_tracks(tracks: Tracks, frame: int, frames: int, interpolation: str) -> Tracks:
    """Tracks of a two-frame clip whose frame 1 is frame ``frame`` of ``tracks`` (straight, keyframed 0 → 1)."""
    pos = tracks.resample(frames, interpolation)
    keys = np.array([0.0, 1.0])
    moved = tuple(
        replace(t, points=np.stack((pos[i, 0], pos[i, frame])), frames=keys) if not t.anchor else t
        for i, t in enumerate(tracks.tracks)
    )
    return replace(tracks, tracks=moved, frame_count=2)


def preview_frame(
    image: torch.Tensor,
    tracks: Tracks | str | dict | list,
    frame: int,
    frames: int,
    *,
    interpolation: str = "smooth",
    falloff: float = 1.0,
    radius: float | None = None,
    masks: torch.Tensor | None = None,
) -> torch.Tensor:
    """Frame ``frame`` of the motion preview of a ``frames``-long clip.

    image: [H, W, C] or [1, H, W, C] in [0, 1] (ComfyUI's IMAGE layout)  ->  [H, W, C]
    Tracks that state no size are taken to be in this image's pixels.
    """
    if image.ndim == 4:
        image = image[0]
    height, width = int(image.shape[0]), int(image.shape[1])
    tracks = parse_tracks(tracks)
    if tracks.width is None or tracks.height is None:
        tracks = tracks.with_size(width, height)
    frames = max(int(frames), 1)
    frame = min(max(int(frame), 0), frames - 1)
    if frame == 0 or not tracks.tracks:
        return image
    two = single_frame_tracks(tracks, frame, frames, interpolation)
    # Straight two-point tracks: "linear" reproduces the positions computed above exactly.
    flow, _ = tracks_to_flow(two, 2, height, width, masks, interpolation="linear", falloff=falloff, radius=radius)
    warped = warp(image.movedim(-1, 0)[None], flow[1:].to(image.dtype))
    return warped[0].movedim(0, -1).clamp(0.0, 1.0)
