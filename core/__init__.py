"""The InteractiveVideo method as a plain library: torch, numpy, OpenCV and kornia only.

Nothing in ``core`` imports ComfyUI, so every piece can be used and tested without it. Shapes follow
ComfyUI's conventions where they meet it: images ``[F, H, W, C]`` in [0, 1], latents ``[F, C, h, w]``.
"""

from .blend import Schedule, blend, frame_instruction, mix_predictions
from .flow import Flow, flow_to_color, tracks_to_flow
from .mask import painted_region, to_latent
from .noise import flow_noise, warp_noise
from .trajectory import Track, TrackError, Tracks, parse_tracks
from .warp import warp

__all__: list[str] = [
    "Flow",
    "Schedule",
    "Track",
    "TrackError",
    "Tracks",
    "blend",
    "flow_noise",
    "flow_to_color",
    "frame_instruction",
    "mix_predictions",
    "painted_region",
    "parse_tracks",
    "to_latent",
    "tracks_to_flow",
    "warp",
    "warp_noise",
]
