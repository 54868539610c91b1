"""Real SD1.5-architecture models with random weights (no weights can be downloaded here).

ComfyUI's layers skip initialisation, so a freshly built model holds garbage. Every tensor is filled explicitly
and reproducibly: weights ~ N(0, 1/fan_in), 1-D weights (norms) = 1, biases = 0. Key names come from
ComfyUI's own modules built on the meta device, so they are exactly what a real checkpoint holds.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch

from .comfy_env import comfy_importable
from .paths import cached_weights

SD15_UNET = {
    "use_checkpoint": False,
    "image_size": 32,
    "use_spatial_transformer": True,
    "legacy": False,
    "adm_in_channels": None,
    "in_channels": 4,
    "out_channels": 4,
    "model_channels": 320,
    "num_res_blocks": [2, 2, 2, 2],
    "transformer_depth": [1, 1, 1, 1, 1, 1, 0, 0],
    "transformer_depth_output": [1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0],
    "channel_mult": [1, 2, 4, 4],
    "transformer_depth_middle": 1,
    "use_linear_in_transformer": False,
    "context_dim": 768,
    "use_temporal_resblock": False,
    "use_temporal_attention": False,
    "num_heads": 8,
    "num_head_channels": -1,
}
SD15_VAE = {
    "double_z": True,
    "z_channels": 4,
    "resolution": 256,
    "in_channels": 3,
    "out_ch": 3,
    "ch": 128,
    "ch_mult": [1, 2, 4, 4],
    "num_res_blocks": 2,
    "attn_resolutions": [],
    "dropout": 0.0,
}
# Bump when the way weights are generated changes, so cached files are rebuilt.
FORMAT_VERSION = 1


def unet_config(model_channels: int = 320) -> dict:
    """The SD1.5 UNet layout (same blocks, heads and context) at a chosen width; 320 is the real model."""
    return {**SD15_UNET, "model_channels": model_channels}


def fill_random_(
    state: dict[str, torch.Tensor], seed: int, dtype: torch.dtype = torch.float32
) -> dict[str, torch.Tensor]:
    """Replace every floating tensor of ``state`` (meta or real) with seeded values; returns a new dict."""
    gen = torch.Generator().manual_seed(seed)
    out = {}
    for name in sorted(state):
        t = state[name]
        if not t.dtype.is_floating_point:
            out[name] = (
                torch.arange(t.shape[-1]).expand(t.shape).clone()
                if "position_ids" in name
                else torch.zeros(t.shape, dtype=t.dtype)
            )
            continue
        if name.endswith("bias"):
            v = torch.zeros(t.shape)
        elif t.ndim == 1:
            v = torch.ones(t.shape)
        else:
            fan_in = math.prod(t.shape[1:]) if t.ndim > 1 else t.shape[0]
            v = torch.randn(t.shape, generator=gen) / math.sqrt(fan_in)
        out[name] = v.to(dtype)
    return out


def meta_state(build) -> dict[str, torch.Tensor]:
    """The state dict (names, shapes, dtypes; no memory) of the module ``build()`` makes on the meta device."""
    with torch.device("meta"):
        module = build()
    return module.state_dict()


def unet_state_dict(
    seed: int = 0, model_channels: int = 320, dtype: torch.dtype = torch.float32
) -> dict[str, torch.Tensor]:
    """UNet weights in ComfyUI/LDM naming, without the ``model.diffusion_model.`` prefix."""
    comfy_importable()
    import comfy.ops
    from comfy.ldm.modules.diffusionmodules.openaimodel import UNetModel

    cfg = unet_config(model_channels)
    meta = meta_state(lambda: UNetModel(**cfg, operations=comfy.ops.disable_weight_init, device="meta"))
    return fill_random_(meta, seed, dtype)


def vae_state_dict(seed: int = 1, dtype: torch.dtype = torch.float32) -> dict[str, torch.Tensor]:
    comfy_importable()
    from comfy.ldm.models.autoencoder import AutoencoderKL

    meta = meta_state(lambda: AutoencoderKL(ddconfig=SD15_VAE, embed_dim=4))
    return fill_random_(meta, seed, dtype)


def clip_state_dict(seed: int = 2, dtype: torch.dtype = torch.float32) -> dict[str, torch.Tensor]:
    """CLIP-L text encoder weights in the original checkpoint naming (``transformer.text_model.*``)."""
    comfy_importable()
    import comfy.clip_model
    import comfy.ops

    config = json.loads((Path(comfy.clip_model.__file__).parent / "sd1_clip_config.json").read_text())
    meta = meta_state(
        lambda: comfy.clip_model.CLIPTextModel(config, torch.float32, "meta", comfy.ops.disable_weight_init)
    )
    meta = {k: v for k, v in meta.items() if not k.startswith("text_projection")}
    return {f"transformer.{k}": v for k, v in fill_random_(meta, seed, dtype).items()}


def build_model(
    seed: int = 0, model_channels: int = 320, dtype: torch.dtype = torch.float32, state: dict | None = None
):
    """A ComfyUI ModelPatcher holding an SD1.5-architecture UNet (EPS, SD1.5 latent format) with random weights.

    Reduced widths keep SD1.5's block structure, so every patch point of the real model exists. ``state``: the
    weights (``unet_state_dict``'s, copied in) instead of drawing them from ``seed`` again.
    """
    comfy_importable()
    import comfy.model_management
    import comfy.model_patcher
    import comfy.supported_models

    config = comfy.supported_models.SD15(unet_config(model_channels))
    config.set_inference_dtype(dtype, None)
    model = config.get_model({}, "", device=torch.device("cpu"))
    model.diffusion_model.load_state_dict(state or unet_state_dict(seed, model_channels, dtype), strict=True)
    model.eval()
    device = comfy.model_management.get_torch_device()
    return comfy.model_patcher.ModelPatcher(model, load_device=device, offload_device=torch.device("cpu"))


def checkpoint_state_dict(seed: int = 0, dtype: torch.dtype = torch.float16) -> dict[str, torch.Tensor]:
    """A complete original-format SD1.5 checkpoint: UNet, VAE and CLIP-L, as CheckpointLoaderSimple reads it."""
    sd = {f"model.diffusion_model.{k}": v for k, v in unet_state_dict(seed, 320, dtype).items()}
    sd.update({f"first_stage_model.{k}": v for k, v in vae_state_dict(seed + 1, dtype).items()})
    sd.update({f"cond_stage_model.{k}": v for k, v in clip_state_dict(seed + 2, dtype).items()})
    return sd


def checkpoint_file(seed: int = 0) -> Path:
    """Path of a cached full-size random SD1.5 checkpoint (fp16 safetensors, ~2 GB), built on first use."""
    return cached_weights(f"sd15-random-s{seed}-v{FORMAT_VERSION}.safetensors", lambda: checkpoint_state_dict(seed))
