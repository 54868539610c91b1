"""Motion-module files with exactly the real files' keys and shapes (from the shared manifests), random weights.

The manifests (``<repo>/../shared/reference/animatediff/*.json``) list every tensor of the published
``mm_sd_v15_v2``, ``v3_sd15_mm`` and ``pia`` files. Weights follow ``sd15.fill_random_`` (N(0, 1/fan_in),
norms 1, biases 0); ``pos_encoder.pe`` stays the sinusoid the real files store.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch

from .paths import REPO
from .sd15 import fill_random_

MANIFESTS = REPO.parent / "shared" / "reference" / "animatediff"
NAMES = ("mm_sd_v15_v2", "v3_sd15_mm", "pia")


def manifest(name: str) -> dict[str, tuple[int, ...]]:
    """``{key: shape}`` of a real motion-module file."""
    path = MANIFESTS / f"{name}.json"
    if not path.is_file():
        raise FileNotFoundError(f"reference manifest {path} is missing: shared/ must sit beside the checkout")
    return {k: tuple(v) for k, v in json.loads(path.read_text()).items()}


def sinusoid(length: int, channels: int) -> torch.Tensor:
    """The original AnimateDiff ``PositionalEncoding.pe`` ([1, length, channels]), written independently."""
    pos = torch.arange(length, dtype=torch.float32)[:, None]
    div = torch.exp(torch.arange(0, channels, 2, dtype=torch.float32) * (-math.log(10000.0) / channels))
    pe = torch.zeros(1, length, channels)
    pe[0, :, 0::2] = torch.sin(pos * div)
    pe[0, :, 1::2] = torch.cos(pos * div)
    return pe


def state_dict(name: str, seed: int = 10) -> dict[str, torch.Tensor]:
    """A random motion-module state dict with the manifest's exact keys and shapes."""
    shapes = manifest(name)
    meta = {k: torch.empty(s, device="meta") for k, s in shapes.items()}
    sd = fill_random_(meta, seed)
    for k, s in shapes.items():
        if k.endswith("pos_encoder.pe"):
            sd[k] = sinusoid(s[1], s[2])
    return sd


def save(sd: dict[str, torch.Tensor], path: Path) -> Path:
    """Write as ``.safetensors`` or, for ``.ckpt``/``.pt``/``.pth``, as the original fp32 pickles."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".safetensors":
        from safetensors.torch import save_file

        save_file({k: v.contiguous() for k, v in sd.items()}, str(path))
    else:
        torch.save(sd, path)
    return path


def diffusers_unet_motion(unet_ldm: dict[str, torch.Tensor], motion: dict[str, torch.Tensor]):
    """diffusers' ``UNetMotionModel`` holding the same weights, converted with diffusers' own helpers.

    unet_ldm: SD1.5 UNet in original/LDM naming without the ``model.diffusion_model.`` prefix.
    motion:   an original-format motion-module state dict (v1/v2/v3/PIA).

    ``UNet2DConditionModel`` and ``MotionAdapter`` are built from their configs on the meta device and
    ``UNetMotionModel.from_unet2d(..., load_weights=False)`` gives the combined architecture; the converted
    tensors are then assigned (not copied), so the reference costs no second copy of 3.4 GB of weights.
    """
    from diffusers import MotionAdapter, UNet2DConditionModel, UNetMotionModel
    from diffusers.loaders.single_file_utils import (
        convert_animatediff_checkpoint_to_diffusers,
        convert_ldm_unet_checkpoint,
    )
    from diffusers.models.embeddings import SinusoidalPositionalEmbedding

    pe = next(v for k, v in motion.items() if k.endswith("pos_encoder.pe"))
    pia = "conv_in.weight" in motion
    with torch.device("meta"):
        unet = UNet2DConditionModel(sample_size=64, cross_attention_dim=768)  # diffusers' defaults are SD1.5's
        adapter = MotionAdapter(
            block_out_channels=(320, 640, 1280, 1280),
            motion_layers_per_block=2,
            motion_max_seq_length=pe.shape[1],
            use_motion_mid_block=any(k.startswith("mid_block.") for k in motion),
            conv_in_channels=9 if pia else None,
        )
        model = UNetMotionModel.from_unet2d(unet, adapter, load_weights=False)
    sd = convert_ldm_unet_checkpoint({f"model.diffusion_model.{k}": v for k, v in unet_ldm.items()}, unet.config)
    converted = convert_animatediff_checkpoint_to_diffusers(motion)
    if pia:
        # As UNetMotionModel.from_unet2d loads PIA: channels 0-3 and the bias from the base conv_in, 4-8 from PIA.
        converted["conv_in.weight"] = torch.cat([sd["conv_in.weight"], converted["conv_in.weight"][:, 4:]], dim=1)
        converted["conv_in.bias"] = sd["conv_in.bias"]
    sd.update(converted)
    result = model.load_state_dict(sd, strict=False, assign=True)
    assert not result.unexpected_keys, result.unexpected_keys[:5]
    assert all(k.endswith("pos_embed.pe") for k in result.missing_keys), result.missing_keys[:5]
    for module in model.modules():
        if isinstance(module, SinusoidalPositionalEmbedding):
            length, dim = module.pe.shape[1:]
            module.pe = SinusoidalPositionalEmbedding(dim, length).pe  # diffusers' own encoding
    bad = [n for n, t in [*model.named_parameters(), *model.named_buffers()] if t.is_meta]
    assert not bad, bad[:5]
    return model.eval()
