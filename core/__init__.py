"""The InteractiveVideo method as a plain library: torch, numpy, OpenCV and kornia only.

Nothing in ``core`` imports ComfyUI, so every piece can be used and tested without it. Shapes follow
ComfyUI's conventions where they meet it: images ``[F, H, W, C]`` in [0, 1], latents ``[F, C, h, w]``.
"""

from .flow import Flow, flow_to_color, tracks_to_flow
from .trajectory import Track, TrackError, Tracks, parse_tracks
from .warp import warp

__all__: list[str] = [
    "Flow",
    "Track",
    "TrackError",
    "Tracks",
    "flow_to_color",
    "parse_tracks",
    "tracks_to_flow",
    "warp",
]
