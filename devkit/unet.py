"""The full-size random SD1.5 UNet alone, stored in fp16 and computed in fp32 (ComfyUI's manual cast).

``sd15_full`` loads UNet, CLIP and VAE with the UNet in fp32 (~7 GB peak RSS while loading). Tests and
benchmarks that only need the real UNet's shapes and cost take it from the same cached checkpoint this way,
at about half the memory; ComfyUI casts each layer's weights to fp32 as it runs, as it does for fp16
checkpoints on any device without fp16 compute.
"""

from __future__ import annotations

import torch

from . import sd15

PREFIX = "model.diffusion_model."


def load_unet(dtype: torch.dtype = torch.float16):
    """A ModelPatcher with the 320-wide SD1.5 UNet of ``sd15.checkpoint_file()``, weights stored in ``dtype``."""
    import comfy.sd
    from safetensors import safe_open

    with safe_open(str(sd15.checkpoint_file()), framework="pt") as f:
        state = {k: f.get_tensor(k) for k in f.keys() if k.startswith(PREFIX)}
    model = comfy.sd.load_diffusion_model_state_dict(state, model_options={"dtype": dtype})
    del state
    return model


def conditioning(seed: int) -> list:
    """A CONDITIONING of SD1.5's shape ([1, 77, 768], unit scale like CLIP-L's hidden states)."""
    return [[torch.randn(1, 77, 768, generator=torch.Generator().manual_seed(seed)), {}]]
