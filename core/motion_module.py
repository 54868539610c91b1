"""AnimateDiff motion modules (v1, v2, v3, PIA) in plain torch, in the key layout of the published files.

A motion module is a temporal transformer inserted after spatial layers of an SD1.5 UNet: every spatial
position attends over the frames of its own clip. Its parameters are named exactly as in the original
``mm_sd_v15_v2.ckpt`` / ``v3_sd15_mm.ckpt`` / ``pia.ckpt`` files, so a file's state dict loads without renaming:
``{down_blocks.i|mid_block|up_blocks.i}.motion_modules.j.temporal_transformer.*``.

Frames travel in the batch dimension (ComfyUI's convention): a batch ``[G·F, C, H, W]`` holds G clips of F
frames (cond and uncond are separate clips), and attention never crosses from one clip into another.

The attention function and the layer classes (``operations``) are injectable so a host (ComfyUI) can supply
its optimized attention and its weight-casting layers; the defaults are plain torch.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

Attention = Callable[[torch.Tensor, torch.Tensor, torch.Tensor, int], torch.Tensor]

SD15_CHANNELS = (320, 640, 1280, 1280)
HEADS = 8
# Positional-encoding length assumed when a file ships none (AnimateLCM); v1 files hold 24, v2/v3/PIA 32.
DEFAULT_PE_LENGTH = 64
# Largest feed-forward hidden activation computed at once (values; 64 MiB in fp32): see FeedForward.forward.
FF_CHUNK_ELEMENTS = 1 << 24
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
_TORCH_OPS = SimpleNamespace(Linear=nn.Linear, LayerNorm=nn.LayerNorm, GroupNorm=nn.GroupNorm)


class MotionModuleFormatError(ValueError):
    """The file is not a motion module this pack can run; the message says what was found and what works."""


def sdpa_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, heads: int) -> torch.Tensor:
    """Multi-head attention with 1/sqrt(d) scaling. q, k, v: [B, N, heads·d] -> [B, N, heads·d]."""
    b, n, inner = q.shape
    q, k, v = (t.view(b, -1, heads, inner // heads).transpose(1, 2) for t in (q, k, v))
    out = F.scaled_dot_product_attention(q, k, v)
    return out.transpose(1, 2).reshape(b, n, inner)


def sinusoidal_encoding(length: int, channels: int) -> torch.Tensor:
    """AnimateDiff's ``pos_encoder.pe``: sin on even channels, cos on odd. returns [1, length, channels]."""
    position = torch.arange(length, dtype=torch.float32).unsqueeze(1)
    div_term = torch.exp(torch.arange(0, channels, 2, dtype=torch.float32) * (-math.log(10000.0) / channels))
    pe = torch.zeros(1, length, channels)
    pe[0, :, 0::2] = torch.sin(position * div_term)
    pe[0, :, 1::2] = torch.cos(position * div_term)
    return pe


class PositionalEncoding(nn.Module):
    def __init__(self, channels: int, length: int):
        super().__init__()
        self.register_buffer("pe", sinusoidal_encoding(length, channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: [B, F, C] -> [B, F, C] with the first F encodings added."""
        return x + self.pe[:, : x.shape[1]].to(x.dtype)


class TemporalAttention(nn.Module):
    """AnimateDiff's ``VersatileAttention`` as a temporal self-attention (no cross-attention context)."""

    def __init__(self, channels: int, pe_length: int, ops: Any, dtype=None, device=None):
        super().__init__()
        kw = {"dtype": dtype, "device": device}
        self.heads = HEADS
        self.to_q = ops.Linear(channels, channels, bias=False, **kw)
        self.to_k = ops.Linear(channels, channels, bias=False, **kw)
        self.to_v = ops.Linear(channels, channels, bias=False, **kw)
        self.to_out = nn.ModuleList([ops.Linear(channels, channels, **kw), nn.Dropout(0.0)])
        self.pos_encoder = PositionalEncoding(channels, pe_length)

    def forward(self, x: torch.Tensor, attention: Attention, scale: float) -> torch.Tensor:
        """x: [B·H·W, F, C] -> [B·H·W, F, C]. ``scale`` multiplies the attention logits (motion scale)."""
        x = self.pos_encoder(x)
        q = self.to_q(x)
        if scale != 1.0:
            q = q * scale
        return self.to_out[0](attention(q, self.to_k(x), self.to_v(x), self.heads))


class GEGLU(nn.Module):
    def __init__(self, dim_in: int, dim_out: int, ops: Any, dtype=None, device=None):
        super().__init__()
        self.proj = ops.Linear(dim_in, dim_out * 2, dtype=dtype, device=device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, gate = self.proj(x).chunk(2, dim=-1)
        if torch.is_grad_enabled():
            return h * F.gelu(gate)
        return F.gelu(gate).mul_(h)  # inference: one 4·C-wide buffer fewer alive at the peak


class FeedForward(nn.Module):
    def __init__(self, channels: int, ops: Any, dtype=None, device=None):
        super().__init__()
        inner = 4 * channels
        self.net = nn.ModuleList(
            [
                GEGLU(channels, inner, ops, dtype, device),
                nn.Dropout(0.0),
                ops.Linear(inner, channels, dtype=dtype, device=device),
            ]
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: [N, F, C] -> [N, F, C]. The hidden layer is 8·C wide (GEGLU), the widest activation of the whole
        UNet step at high resolution, and positions are independent: it is computed for a slice of positions
        at a time, each slice at most FF_CHUNK_ELEMENTS hidden values, so its size does not grow with N."""
        rows = max(1, FF_CHUNK_ELEMENTS // max(1, 8 * x[0].numel()))
        if rows >= x.shape[0]:
            return self._net(x)
        first = self._net(x[:rows])
        out = first.new_empty((x.shape[0], *first.shape[1:]))
        out[:rows] = first
        del first
        for start in range(rows, x.shape[0], rows):
            out[start : start + rows] = self._net(x[start : start + rows])
        return out

    def _net(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.net:
            x = layer(x)
        return x


class TemporalTransformerBlock(nn.Module):
    def __init__(self, channels: int, pe_length: int, ops: Any, dtype=None, device=None):
        super().__init__()
        kw = {"dtype": dtype, "device": device}
        self.attention_blocks = nn.ModuleList([TemporalAttention(channels, pe_length, ops, **kw) for _ in range(2)])
        self.norms = nn.ModuleList([ops.LayerNorm(channels, **kw) for _ in range(2)])
        self.ff = FeedForward(channels, ops, **kw)
        self.ff_norm = ops.LayerNorm(channels, **kw)

    def forward(self, x: torch.Tensor, attention: Attention, scale: float) -> torch.Tensor:
        """x: [B·H·W, F, C] -> [B·H·W, F, C]."""
        for attn, norm in zip(self.attention_blocks, self.norms, strict=True):
            x = attn(norm(x), attention, scale) + x
        return self.ff(self.ff_norm(x)) + x


class TemporalTransformer(nn.Module):
    def __init__(self, channels: int, pe_length: int, ops: Any, dtype=None, device=None):
        super().__init__()
        kw = {"dtype": dtype, "device": device}
        self.norm = ops.GroupNorm(32, channels, eps=1e-6, affine=True, **kw)
        self.proj_in = ops.Linear(channels, channels, **kw)
        self.transformer_blocks = nn.ModuleList([TemporalTransformerBlock(channels, pe_length, ops, **kw)])
        self.proj_out = ops.Linear(channels, channels, **kw)

    def forward(self, x: torch.Tensor, frames: int, attention: Attention, scale: float) -> torch.Tensor:
        """x: [G·F, C, H, W] (G clips of F frames) -> the temporal residual update [G·F, C, H, W]."""
        gf, c, h, w = x.shape
        g = gf // frames
        # GroupNorm statistics are taken over each clip's frames together, as in the original [b, c, f, h, w].
        y = self.norm(x.view(g, frames, c, h, w).transpose(1, 2))
        # Materialised token-major: with one clip, reshape would return a strided view, and a Linear on a
        # view that cannot flatten to 2-D falls back to a batched matmul with a copy per position (≈3× slower).
        y = y.permute(0, 3, 4, 2, 1).contiguous().view(g * h * w, frames, c)
        y = self.proj_in(y)
        for block in self.transformer_blocks:
            y = block(y, attention, scale)
        y = self.proj_out(y)
        return y.view(g, h, w, frames, c).permute(0, 3, 4, 1, 2).reshape(gf, c, h, w)


class MotionModule(nn.Module):
    """One temporal transformer at one place in the UNet: ``x + effect · update(x)``.

    attention: the attention function ``(q, k, v, heads) -> out`` on [B, N, heads·d] tensors.
    scale:     motion scale, multiplies the temporal attention logits (>1 sharper, more motion).
    effect:    0 leaves the UNet's spatial result unchanged (module off), 1 is the module as trained.
    """

    def __init__(self, channels: int, pe_length: int, ops: Any = None, dtype=None, device=None):
        super().__init__()
        self.temporal_transformer = TemporalTransformer(channels, pe_length, ops or _TORCH_OPS, dtype, device)
        self.pe_length = pe_length
        self.attention: Attention = sdpa_attention
        self.scale = 1.0
        self.effect = 1.0

    def forward(self, x: torch.Tensor, groups: int = 1) -> torch.Tensor:
        """x: [G·F, C, H, W] holding ``groups`` clips of equal length -> [G·F, C, H, W]."""
        if self.effect == 0.0:
            return x
        if x.shape[0] % groups:
            raise ValueError(f"a batch of {x.shape[0]} frames does not split into {groups} clips of equal length")
        frames = x.shape[0] // groups
        if frames > self.pe_length:
            raise ValueError(
                f"{frames} frames per clip exceed this motion module's positional encoding of {self.pe_length} "
                f"frames: sample at most {self.pe_length} frames at once, or add context windows "
                f"(ComfyUI's 'Context Windows (Manual)' node) with a context length of {min(16, self.pe_length)}"
            )
        update = self.temporal_transformer(x, frames, self.attention, self.scale)
        return x + update if self.effect == 1.0 else x + self.effect * update


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
    if max(down, default=-1) < 3:
        raise MotionModuleFormatError(
            f"{name} is an SDXL motion module (down blocks 0..{max(down, default=-1)}; SD1.5 has 0..3). "
            f"This pack runs on SD1.5 checkpoints. Supported: {SUPPORTED}."
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
        if tuple(motion[k].shape) != shape:
            raise MotionModuleFormatError(
                f"{name}: {k} has shape {tuple(motion[k].shape)}, an SD1.5 motion module has {shape}. "
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
