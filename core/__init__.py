"""The InteractiveVideo method as a plain library: torch, numpy, OpenCV and kornia only.

Nothing in ``core`` imports ComfyUI, so every piece can be used and tested without it. Shapes follow
ComfyUI's conventions where they meet it: images ``[F, H, W, C]`` in [0, 1], latents ``[F, C, h, w]``.
"""

__all__: list[str] = []

# AnimateDiff motion modules and PIA-style image alignment (issue 4)
from .alignment import AFFINITY_PRESETS, frame_affinity, preset_affinity  # noqa: E402
from .motion_module import (  # noqa: E402
    MotionModule,
    MotionModuleFormatError,
    MotionModuleWeights,
    build_motion_modules,
    motion_module_from_state_dict,
)

__all__ += [
    "AFFINITY_PRESETS",
    "frame_affinity",
    "preset_affinity",
    "MotionModule",
    "MotionModuleFormatError",
    "MotionModuleWeights",
    "build_motion_modules",
    "motion_module_from_state_dict",
]
