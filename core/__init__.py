"""The InteractiveVideo method as a plain library: torch, numpy, OpenCV, SciPy and Pillow only.

Nothing in ``core`` imports ComfyUI, so every piece can be used and tested without it. Shapes follow
ComfyUI's conventions where they meet it: images ``[F, H, W, C]`` in [0, 1], latents ``[F, C, h, w]``.
"""

from .alignment import AFFINITY_PRESETS, frame_affinity, preset_affinity
from .blend import DEFAULT_SCHEDULE, Schedule, mix_predictions, pull
from .flow import Flow, tracks_to_flow
from .flow_color import flow_to_color
from .instructions import Align, Composed, InstructionError, Paint, compose, edited_image
from .mask import painted_region, region_from_mask, to_latent
from .motion_module import MotionModule
from .motion_weights import (
    MotionModuleFormatError,
    MotionModuleWeights,
    build_motion_modules,
    motion_module_from_state_dict,
)
from .noise import flow_noise, warp_noise
from .trajectory import Track, TrackError, Tracks, parse_tracks
from .warp import warp

__all__: list[str] = [
    "DEFAULT_SCHEDULE",
    "Align",
    "Composed",
    "InstructionError",
    "Paint",
    "compose",
    "edited_image",
    "pull",
    "region_from_mask",
    "AFFINITY_PRESETS",
    "Flow",
    "MotionModule",
    "MotionModuleFormatError",
    "MotionModuleWeights",
    "Schedule",
    "Track",
    "TrackError",
    "Tracks",
    "build_motion_modules",
    "flow_noise",
    "flow_to_color",
    "frame_affinity",
    "mix_predictions",
    "motion_module_from_state_dict",
    "painted_region",
    "parse_tracks",
    "preset_affinity",
    "to_latent",
    "tracks_to_flow",
    "warp",
    "warp_noise",
]
