"""The InteractiveVideo method as a plain library: torch, numpy, OpenCV and kornia only.

Nothing in ``core`` imports ComfyUI, so every piece can be used and tested without it. Shapes follow
ComfyUI's conventions where they meet it: images ``[F, H, W, C]`` in [0, 1], latents ``[F, C, h, w]``.
"""

__all__: list[str] = []
