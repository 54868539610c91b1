"""Rendering a clip with the small Wan model inside this process, through ComfyUI's own nodes: ModelSamplingSD3 →
WanImageToVideo → (the pack's Apply Instructions, when asked) → KSampler → VAEDecode, as the demo's graph does on
a server. Used by the evaluation, the benchmark and tests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from ..comfy_env import boot, run_node
from ..fixture_nodes.wan_text import text_embedding
from .config import FRAMES, SHIFT


def call(node_id: str, **inputs) -> tuple:
    """A node's outputs, V3 (schema) or V1 (FUNCTION) alike: core nodes move between the two across versions."""
    import nodes

    cls = nodes.NODE_CLASS_MAPPINGS[node_id]
    if hasattr(cls, "GET_SCHEMA"):
        return tuple(run_node(node_id, **inputs).result)
    out = getattr(cls(), cls.FUNCTION)(**inputs)
    return tuple(out["result"] if isinstance(out, dict) else out)


@dataclass
class Sampling:
    seed: int = 0
    steps: int = 20
    cfg: float = 1.0  # the model knows no text: guidance between two random prompts would amplify noise
    shift: float = SHIFT
    sampler: str = "euler"
    scheduler: str = "simple"
    frames: int = FRAMES


# Given the shifted model, the start image [1, H, W, 3] and the VAE, return the model to sample with.
Instructions = Callable[[object, torch.Tensor, object], object]


def conditioning() -> tuple[list, list]:
    """The umt5-shaped stand-in the demo's server uses (IVTest_WanTextEmbedding): the model ignores text."""
    return [[text_embedding("a clip"), {}]], [[text_embedding(""), {}]]


def start(vae, image: torch.Tensor, frames: int) -> tuple[list, list, dict]:
    """WanImageToVideo on the start image [1, H, W, 3]: the conditioning with it and the empty video latent."""
    positive, negative = conditioning()
    h, w = image.shape[1:3]
    return call(
        "WanImageToVideo",
        positive=positive,
        negative=negative,
        vae=vae,
        width=w,
        height=h,
        length=frames,
        batch_size=1,
        start_image=image,
    )


def render(
    dit, vae, image: torch.Tensor, sampling: Sampling | None = None, instructions: Instructions | None = None
) -> torch.Tensor:
    """Frames [F, H, W, 3] in 0..1 from the start image [1, H, W, 3] (0..1), with optional instructions."""
    boot()
    import nodes

    sampling = sampling or Sampling()
    (model,) = call("ModelSamplingSD3", model=dit, shift=sampling.shift)
    positive, negative, latent = start(vae, image, sampling.frames)
    if instructions is not None:
        model = instructions(model, image, vae)
    (out,) = nodes.KSampler().sample(
        model,
        sampling.seed,
        sampling.steps,
        sampling.cfg,
        sampling.sampler,
        sampling.scheduler,
        positive,
        negative,
        latent,
        denoise=1.0,
    )
    (frames,) = call("VAEDecode", samples=out, vae=vae)
    return frames.reshape(-1, *frames.shape[-3:])[: sampling.frames].clamp(0, 1)
