"""The InteractiveVideo method as a plain library: torch, numpy, OpenCV and kornia only.

Nothing in ``core`` imports ComfyUI, so every piece can be used and tested without it. Shapes follow
ComfyUI's conventions where they meet it: images ``[F, H, W, C]`` in [0, 1], latents ``[F, C, h, w]``.
"""

# issue 6: paint, residual blend, flow noise
from .blend import Schedule, blend, frame_instruction, mix_predictions
from .mask import painted_region, to_latent
from .noise import flow_noise, warp_noise

__all__: list[str] = [
    # issue 6: paint, residual blend, flow noise
    "Schedule",
    "blend",
    "flow_noise",
    "frame_instruction",
    "mix_predictions",
    "painted_region",
    "to_latent",
    "warp_noise",
]
