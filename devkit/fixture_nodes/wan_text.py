"""A stand-in for umt5-xxl: a deterministic text embedding with the shape Wan's text encoder gives.

Pure torch (no ComfyUI import), so both ``devkit.wan`` (in-process tests) and the fixture node pack that a test
server loads (``IVTest_WanTextEmbedding``) use this one implementation.
"""

from __future__ import annotations

import hashlib

import torch

# umt5-xxl's hidden size: the width of every Wan DiT's text_embedding input (ComfyUI's detection fixes it too).
TEXT_DIM = 4096
# ComfyUI's umt5 tokenizer pads every prompt to at least 512 tokens (min_length=512) and zeroes the padding.
TEXT_LEN = 512


def text_seed(text: str) -> int:
    """A seed from the text's SHA-256: the same text gives the same embedding in every process."""
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "little") & ((1 << 63) - 1)


def text_embedding(text: str, length: int = TEXT_LEN) -> torch.Tensor:
    """``[1, length, 4096]`` float32: seeded N(0, 1) rows for the text's tokens (one per whitespace-separated
    word, plus the end token), zeros for the padding after them, as ComfyUI's umt5-xxl encoder lays it out."""
    if length < 1:
        raise ValueError(f"length must be at least 1, got {length}")
    tokens = min(len(text.split()) + 1, length)
    out = torch.zeros(1, length, TEXT_DIM)
    gen = torch.Generator().manual_seed(text_seed(text))
    out[:, :tokens] = torch.randn(1, tokens, TEXT_DIM, generator=gen)
    return out
