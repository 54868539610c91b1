"""AnimateDiff motion modules (v1, v2, v3, PIA) in plain torch, in the key layout of the published files.

A motion module is a temporal transformer inserted after spatial layers of an SD1.5 UNet: every spatial
position attends over the frames of its own clip. Its parameters are named exactly as in the original
``mm_sd_v15_v2.ckpt`` / ``v3_sd15_mm.ckpt`` / ``pia.ckpt`` files, so a file's state dict loads without renaming:
``{down_blocks.i|mid_block|up_blocks.i}.motion_modules.j.temporal_transformer.*``.

Frames travel in the batch dimension (ComfyUI's convention): a batch ``[G·F, C, H, W]`` holds G clips of F
frames (cond and uncond are separate clips), and attention never crosses from one clip into another.

The attention function and the layer classes (``operations``) are injectable so a host (ComfyUI) can supply
its optimized attention and its weight-casting layers; the defaults are plain torch. Reading and checking a
file, and building its modules, is ``motion_weights``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
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
_TORCH_OPS = SimpleNamespace(Linear=nn.Linear, LayerNorm=nn.LayerNorm, GroupNorm=nn.GroupNorm)


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
