"""Motion-module files: which format a state dict is (AnimateDiff v1, v2, v3 for SD1.5, PIA), whether it is
complete, and the ``MotionModule``s built from its tensors at their places in ComfyUI's SD1.5 UNet.

Keys keep the published files' names (``down_blocks.0.motion_modules.0.temporal_transformer.*``), so a file
loads without renaming; anything else (SDXL or HotshotXL modules, checkpoints, LoRAs, truncated files) is
refused with a message naming what it is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import torch

from .motion_module import (
    DEFAULT_PE_LENGTH,
    SD15_CHANNELS,
    Attention,
    MotionModule,
    sdpa_attention,
    sinusoidal_encoding,
)

FORMAT_NAMES = {
    "v1": "AnimateDiff v1 (SD1.5)",
    "v2": "AnimateDiff v2 (SD1.5)",
    "v3": "AnimateDiff v3 (SD1.5)",
    "pia": "PIA (SD1.5)",
}
SUPPORTED = "AnimateDiff v1, v2, v3 motion modules for SD1.5 and PIA"
_MOTION_KEY = re.compile(
    r"^(down_blocks\.(\d+)|mid_block|up_blocks\.(\d+))\.motion_modules\.(\d+)\.(temporal_transformer\..+)$"
)


# Published modules encode 24 or 32 frames; a longer encoding than this is a damaged file, not a module.
MAX_PE_LENGTH = 4096


class MotionModuleFormatError(ValueError):
    """The file is not a motion module this pack can run; the message says what was found and what works."""


def placement(block: str) -> tuple[str, int]:
    """Where a motion module of the original layout sits in an LDM/ComfyUI SD1.5 UNet.

    ``down_blocks.i.motion_modules.j`` -> ("input", 3i + 1 + j); ``mid_block.motion_modules.0`` -> ("middle", 0);
    ``up_blocks.i.motion_modules.j`` -> ("output", 3i + j).
    """
    m = re.fullmatch(r"(down_blocks\.(\d+)|mid_block|up_blocks\.(\d+))\.motion_modules\.(\d+)", block)
    if m is None:
        raise ValueError(f"not a motion-module block name: {block!r}")
    j = int(m.group(4))
    if m.group(2) is not None:
        return ("input", 3 * int(m.group(2)) + 1 + j)
    if m.group(3) is not None:
        return ("output", 3 * int(m.group(3)) + j)
    return ("middle", j)


def _block_channels(block: str) -> int:
    if block.startswith("mid_block"):
        return SD15_CHANNELS[-1]
    i = int(block.split(".")[1])
    return SD15_CHANNELS[i] if block.startswith("down_blocks") else SD15_CHANNELS[::-1][i]


def expected_blocks(has_mid_block: bool) -> list[str]:
    """The motion-module blocks of an SD1.5 file, in UNet order."""
    blocks = [f"down_blocks.{i}.motion_modules.{j}" for i in range(4) for j in range(2)]
    if has_mid_block:
        blocks.append("mid_block.motion_modules.0")
    return blocks + [f"up_blocks.{i}.motion_modules.{j}" for i in range(4) for j in range(3)]


@dataclass(frozen=True)
class MotionModuleWeights:
    """``IV_MOTION_MODULE``: a motion-module file's tensors, checked and classified.

    state_dict: the motion-module keys only, original naming (``down_blocks.0.motion_modules.0.temporal_...``).
    format:     "v1" | "v2" | "v3" | "pia".
    pe_length:  frames the positional encoding covers (clips longer than this need context windows).
    conv_in:    PIA's (weight [320, 9, 3, 3], bias [320]); channels 4–8 take [mask 1, image latent 4].
    ignored:    keys of the file outside the motion modules and conv_in (PIA trainer saves the whole UNet).
    """

    name: str
    format: str
    pe_length: int
    state_dict: dict[str, torch.Tensor] = field(repr=False)
    conv_in: tuple[torch.Tensor, torch.Tensor] | None = field(default=None, repr=False)
    ignored: tuple[str, ...] = field(default=(), repr=False)

    @property
    def has_mid_block(self) -> bool:
        return any(k.startswith("mid_block.") for k in self.state_dict)

    @property
    def blocks(self) -> list[str]:
        return expected_blocks(self.has_mid_block)

    @property
    def description(self) -> str:
        return f"{FORMAT_NAMES[self.format]}, {len(self.blocks)} motion modules, {self.pe_length}-frame encoding"

    def conv_in_extra(self) -> tuple[torch.Tensor, torch.Tensor]:
        """PIA's conv_in weights for the 5 conditioning channels [mask, image latent]: [320, 5, 3, 3], bias."""
        if self.conv_in is None:
            raise ValueError(f"{self.name} is {FORMAT_NAMES[self.format]}, not PIA: it has no 9-channel conv_in")
        return self.conv_in[0][:, 4:], self.conv_in[1]


def _describe_other(keys: list[str]) -> str:
    """What a file that holds no SD1.5 motion module looks like, for the error message."""
    if any("temporal_attentions" in k or "temporal_attention" in k for k in keys):
        return "a HotshotXL temporal-layers file (SDXL)"
    if any(k.startswith("model.diffusion_model.") for k in keys):
        return "a full Stable Diffusion checkpoint (it belongs in models/checkpoints)"
    if any(k.startswith(("lora_", "lora_unet")) or ".lora_" in k or "lora_down" in k for k in keys):
        return "a LoRA"
    if any(k.startswith(("down_blocks.", "up_blocks.", "conv_in.")) for k in keys):
        return "a diffusers-format UNet without motion modules"
    return f"{len(keys)} tensors none of which is a motion module (e.g. {keys[:3]})"


def motion_module_from_state_dict(
    state: Mapping[str, torch.Tensor], name: str = "motion module"
) -> MotionModuleWeights:
    """Classify and check a motion-module file's tensors (AnimateDiff v1/v2/v3 for SD1.5, PIA).

    Raises ``MotionModuleFormatError`` naming what was found for SDXL modules, HotshotXL, checkpoints, LoRAs,
    and incomplete or mis-shaped files.
    """
    keys = list(state)
    # Some trainers save under "module." (DataParallel): strip it so such files load like the originals.
    if keys and all(k.startswith("module.") for k in keys):
        state = {k[len("module.") :]: v for k, v in state.items()}
        keys = list(state)
    motion = {k: v for k, v in state.items() if _MOTION_KEY.match(k)}
    if not motion:
        raise MotionModuleFormatError(
            f"{name} is not a motion module: found {_describe_other(keys)}. Supported: {SUPPORTED}."
        )
    down = {int(m.group(2)) for k in motion if (m := _MOTION_KEY.match(k)) and m.group(2) is not None}
    up = {int(m.group(3)) for k in motion if (m := _MOTION_KEY.match(k)) and m.group(3) is not None}
    if max(down, default=-1) == 2 and max(up, default=-1) == 2:
        # SDXL's UNet has three down and three up blocks; SD1.5's four of each. A file with fewer blocks on one
        # side only is a truncated SD1.5 file, refused below as incomplete.
        raise MotionModuleFormatError(
            f"{name} is an SDXL motion module (down and up blocks 0..2; SD1.5 has 0..3). "
            f"This pack runs on SD1.5 checkpoints. Supported: {SUPPORTED}."
        )
    for k, v in motion.items():
        if k.endswith("pos_encoder.pe") and not (
            isinstance(v, torch.Tensor) and v.ndim == 3 and v.shape[0] == 1 and 1 <= v.shape[1] <= MAX_PE_LENGTH
        ):
            shape = tuple(v.shape) if isinstance(v, torch.Tensor) else type(v).__name__
            raise MotionModuleFormatError(
                f"{name}: {k} has shape {shape}, a positional encoding is (1, frames up to {MAX_PE_LENGTH}, "
                "channels); the file is damaged: download it again"
            )
    pes = {v.shape[1] for k, v in motion.items() if k.endswith("pos_encoder.pe")}
    if len(pes) > 1:
        raise MotionModuleFormatError(f"{name} mixes positional-encoding lengths {sorted(pes)}; the file is damaged")
    has_pe = bool(pes)
    pe_length = pes.pop() if pes else DEFAULT_PE_LENGTH
    has_mid = any(k.startswith("mid_block.") for k in motion)
    conv_in = None
    if "conv_in.weight" in state:
        w, b = state["conv_in.weight"], state.get("conv_in.bias")
        if tuple(w.shape) != (320, 9, 3, 3) or b is None or tuple(b.shape) != (320,):
            raise MotionModuleFormatError(
                f"{name} has a conv_in of shape {tuple(w.shape)}, but PIA's is (320, 9, 3, 3) with a (320,) bias"
            )
        conv_in = (w, b)
        fmt = "pia"
    elif has_mid:
        fmt = "v2"
    else:
        fmt = "v1" if pe_length == 24 else "v3"

    expected = _expected_shapes(has_mid, pe_length, with_pe=has_pe)
    missing = sorted(set(expected) - set(motion))
    if missing:
        raise MotionModuleFormatError(
            f"{name} is an incomplete {FORMAT_NAMES[fmt]} file: {len(missing)} of {len(expected)} motion-module "
            f"tensors are missing (e.g. {missing[0]}). The file is probably truncated: download it again."
        )
    unexpected = sorted(set(motion) - set(expected))
    if unexpected:
        raise MotionModuleFormatError(
            f"{name} has motion-module tensors an SD1.5 {FORMAT_NAMES[fmt]} does not (e.g. {unexpected[0]}). "
            f"Supported: {SUPPORTED}."
        )
    for k, shape in expected.items():
        if not isinstance(motion[k], torch.Tensor) or tuple(motion[k].shape) != shape:
            raise MotionModuleFormatError(
                f"{name}: {k} has shape {tuple(getattr(motion[k], 'shape', ()))}, an SD1.5 motion module has {shape}. "
                f"Supported: {SUPPORTED}."
            )
    if not has_pe:
        # Files without a stored encoding (AnimateLCM) get the standard sinusoid, as their trainers used.
        motion.update(
            {k: sinusoidal_encoding(pe_length, shape[2]) for k, shape in _pe_shapes(has_mid, pe_length).items()}
        )
    ignored = tuple(k for k in keys if k not in motion and not k.startswith("conv_in."))
    return MotionModuleWeights(name, fmt, pe_length, motion, conv_in, ignored)


def _pe_shapes(has_mid: bool, pe_length: int) -> dict[str, tuple[int, ...]]:
    return {
        f"{block}.temporal_transformer.transformer_blocks.0.attention_blocks.{a}.pos_encoder.pe": (
            1,
            pe_length,
            _block_channels(block),
        )
        for block in expected_blocks(has_mid)
        for a in range(2)
    }


def _expected_shapes(has_mid: bool, pe_length: int, with_pe: bool = True) -> dict[str, tuple[int, ...]]:
    """Every tensor of an SD1.5 motion-module file and its shape (built on the meta device: no memory)."""
    out = {}
    for block in expected_blocks(has_mid):
        with torch.device("meta"):
            module = MotionModule(_block_channels(block), pe_length)
        for k, v in module.state_dict().items():
            if with_pe or not k.endswith("pos_encoder.pe"):
                out[f"{block}.{k}"] = tuple(v.shape)
    return out


def build_motion_modules(
    weights: MotionModuleWeights,
    attention: Attention = sdpa_attention,
    operations: Any = None,
    dtype: torch.dtype | None = None,
    scale: float = 1.0,
    effect: float = 1.0,
) -> dict[tuple[str, int], MotionModule]:
    """The file's modules as ``MotionModule``s keyed by UNet place (see ``placement``), holding its tensors.

    Tensors already of ``dtype`` are shared with ``weights`` rather than copied (``assign``), so applying one
    loaded file to several models costs no extra memory. ``operations`` supplies Linear/LayerNorm/GroupNorm
    classes (default: torch.nn).
    """
    modules = {}
    for block in weights.blocks:
        with torch.device("meta"):
            module = MotionModule(_block_channels(block), weights.pe_length, operations)
        prefix = f"{block}."
        own = {k[len(prefix) :]: v for k, v in weights.state_dict.items() if k.startswith(prefix)}
        if dtype is not None:
            own = {k: v.to(dtype) for k, v in own.items()}
        module.load_state_dict(own, strict=True, assign=True)
        module.attention, module.scale, module.effect = attention, scale, effect
        modules[placement(block)] = module.eval().requires_grad_(False)
    return modules


def state_dict_shapes(fmt: str) -> dict[str, tuple[int, ...]]:
    """Every tensor of a published SD1.5 motion-module file of format ``fmt`` and its shape.

    fmt: "v1" (no mid block, 24-frame encoding), "v2" (mid block, 32), "v3" (no mid block, 32) or "pia"
    (v3's layout plus the 9-channel ``conv_in``).
    """
    layouts = {"v1": (False, 24), "v2": (True, 32), "v3": (False, 32), "pia": (False, 32)}
    if fmt not in layouts:
        raise ValueError(f"unknown motion-module format {fmt!r}; known: {sorted(layouts)}")
    shapes = _expected_shapes(*layouts[fmt])
    if fmt == "pia":
        shapes.update({"conv_in.weight": (320, 9, 3, 3), "conv_in.bias": (320,)})
    return shapes
