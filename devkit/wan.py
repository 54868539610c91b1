"""Wan video models with random weights, in the real file formats, read by ComfyUI's own loaders and detection.

- A tiny Wan DiT (``wan21_state_dict`` / ``wan21_file``) keyed as Comfy-Org's repackaged diffusion model files
  (``split_files/diffusion_models/*.safetensors``: no prefix, ``patch_embedding.weight``,
  ``blocks.0.self_attn.q.weight``, ``head.modulation``, ...), built from ComfyUI's ``WanModel`` on the meta
  device at a reduced width. Two variants:

  * ``"i2v"``: Wan 2.1 / 2.2-I2V-style image-to-video, 36 input channels (16 noise + 4 mask + 16 image, which
    ComfyUI's ``WAN21.concat_cond`` adds from ``WanImageToVideo``'s conditioning), 16 out, no ``img_emb``
    (no CLIP vision): ComfyUI detects it as ``WAN21_T2V`` (model_type "t2v", in_dim 36), the class the real
    Wan 2.2 I2V A14B files load as, with the ``Wan21`` latent format.
  * ``"ti2v_5b"``: Wan 2.2 TI2V 5B-style, 48 latent channels in and out: ComfyUI detects ``WAN22_T2V``
    (out_dim 48) with the ``Wan22`` latent format.

- The Wan 2.1 VAE (``wan_vae_file``) at its real size, keyed as ``wan_2.1_vae.safetensors`` (ComfyUI's module
  state dict keys).
- ``text_conditioning``: a deterministic stand-in for umt5-xxl's CONDITIONING (the real encoder has 5.7 B
  parameters); the fixture node ``IVTest_WanTextEmbedding`` (``devkit/fixture_nodes``) gives the same on a server.

Weights are filled by ``sd15.fill_random_`` (ComfyUI's layers skip initialisation), norm scales set to one.
"""

from __future__ import annotations

from pathlib import Path

import torch

from .comfy_env import comfy_importable
from .fixture_nodes.wan_text import TEXT_DIM, TEXT_LEN, text_embedding
from .paths import cached_weights
from .sd15 import fill_random_, meta_state

# What ComfyUI's detection (model_detection.detect_unet_config, "head.modulation") fixes or derives: num_heads is
# dim // 128, patch (1, 2, 2), freq_dim 256, qk_norm, cross_attn_norm, eps 1e-6; text_dim is not read (4096).
WAN_DIT_BASE = {
    "model_type": "t2v",
    "patch_size": (1, 2, 2),
    "text_len": TEXT_LEN,
    "freq_dim": 256,
    "text_dim": TEXT_DIM,
    "window_size": (-1, -1),
    "qk_norm": True,
    "cross_attn_norm": True,
    "eps": 1e-6,
}
# Channels per variant (in_dim, out_dim); see the module docstring.
VARIANTS = {
    "i2v": {"in_dim": 36, "out_dim": 16},
    "ti2v_5b": {"in_dim": 48, "out_dim": 48},
}
# ComfyUI's Wan 2.1 VAE config (comfy/sd.py, VAE.__init__, "Wan 2.1 VAE"); dim 96 is the real file's.
WAN21_VAE = {
    "dim": 96,
    "z_dim": 16,
    "dim_mult": [1, 2, 4, 4],
    "num_res_blocks": 2,
    "attn_scales": [],
    "temperal_downsample": [False, True, True],
    "dropout": 0.0,
}
# Bump when the way weights are generated changes, so cached files are rebuilt.
FORMAT_VERSION = 1


def dit_config(variant: str = "i2v", dim: int = 128, ffn_dim: int = 256, num_layers: int = 2) -> dict:
    """``WanModel`` keyword arguments for a variant at a reduced size (the real 14 B model: dim 5120, ffn 13824,
    40 layers; the 5 B: dim 3072, ffn 14336, 30 layers). ``dim`` must be a multiple of 128, as ComfyUI's
    detection assumes 128-wide heads."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown Wan variant {variant!r}; one of {sorted(VARIANTS)}")
    if dim % 128:
        raise ValueError(f"dim must be a multiple of 128 (ComfyUI sets num_heads = dim // 128), got {dim}")
    return {
        **WAN_DIT_BASE,
        **VARIANTS[variant],
        "dim": dim,
        "ffn_dim": ffn_dim,
        "num_layers": num_layers,
        "num_heads": dim // 128,
    }


def _norms_to_one(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The Wan VAE's RMS norm scales (``*.gamma``, shaped [C, 1, 1(, 1)]) are not 1-D, so ``fill_random_`` would
    draw them: set them to one, as a fresh model has them."""
    return {k: torch.ones_like(v) if k.endswith(".gamma") else v for k, v in state.items()}


def wan21_state_dict(
    seed: int = 0,
    variant: str = "i2v",
    dim: int = 128,
    ffn_dim: int = 256,
    num_layers: int = 2,
    dtype: torch.dtype = torch.float16,
) -> dict[str, torch.Tensor]:
    """A tiny Wan DiT's weights, keyed as Comfy-Org's repackaged diffusion model files (no prefix)."""
    comfy_importable()
    import comfy.ops
    from comfy.ldm.wan.model import WanModel

    cfg = dit_config(variant, dim, ffn_dim, num_layers)
    meta = meta_state(lambda: WanModel(**cfg, operations=comfy.ops.disable_weight_init, device="meta"))
    return fill_random_(meta, seed, dtype)


def wan21_file(
    seed: int = 0,
    variant: str = "i2v",
    dim: int = 128,
    ffn_dim: int = 256,
    num_layers: int = 2,
    dtype: torch.dtype = torch.float16,
) -> Path:
    """Path of a cached tiny random Wan DiT (safetensors, what goes in ``models/diffusion_models/``)."""
    name = str(dtype).removeprefix("torch.")
    return cached_weights(
        f"wan-{variant}-d{dim}-f{ffn_dim}-l{num_layers}-{name}-random-s{seed}-v{FORMAT_VERSION}.safetensors",
        lambda: wan21_state_dict(seed, variant, dim, ffn_dim, num_layers, dtype),
    )


def build_wan(variant: str = "i2v", seed: int = 0, **size):
    """A ComfyUI ModelPatcher for a tiny random Wan DiT, loaded from its file by ComfyUI's own
    ``comfy.sd.load_diffusion_model`` (so its detection picks the model class, latent format and sampling).

    ``size``: ``dim``, ``ffn_dim``, ``num_layers``, ``dtype`` as for ``wan21_file``.
    """
    comfy_importable()
    import comfy.sd

    return comfy.sd.load_diffusion_model(str(wan21_file(seed, variant, **size)))


def _vae_state_dict(module_cls, config: dict, seed: int, dtype: torch.dtype) -> dict[str, torch.Tensor]:
    meta = meta_state(lambda: module_cls(**config))
    return _norms_to_one(fill_random_(meta, seed, dtype))


def wan_vae_state_dict(seed: int = 1, dtype: torch.dtype = torch.bfloat16) -> dict[str, torch.Tensor]:
    """The Wan 2.1 VAE at its real size (~127 M parameters), keyed as ``wan_2.1_vae.safetensors``."""
    comfy_importable()
    from comfy.ldm.wan.vae import WanVAE

    return _vae_state_dict(WanVAE, WAN21_VAE, seed, dtype)


def wan_vae_file(seed: int = 1) -> Path:
    """Path of a cached real-size random Wan 2.1 VAE (bf16 safetensors, ~250 MB; ``models/vae/``)."""
    return cached_weights(
        f"wan21-vae-bf16-random-s{seed}-v{FORMAT_VERSION}.safetensors", lambda: wan_vae_state_dict(seed)
    )


def text_conditioning(text: str, length: int = TEXT_LEN) -> list:
    """A ComfyUI CONDITIONING ``[[tensor [1, length, 4096], {}]]`` standing in for umt5-xxl's: seeded from the
    text's hash (same text, same tensor, in any process), zero after the text's tokens as the real one pads."""
    return [[text_embedding(text, length), {}]]
