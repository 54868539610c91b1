"""IV_FlowNoise (NOISE): the paper's Eq. 3, frame 0's seeded noise carried along the flow (core.noise)."""

from __future__ import annotations

import torch
from comfy_api.latest import io

from ..core.flow import Flow
from ..core.frames import IDENTITY, FrameCountError, mapping_for_counts
from ..core.noise import flow_noise
from . import iv_types
from .checks import checked


class FlowNoise:
    """ComfyUI NOISE: frame 0's seeded noise warped along the flow into every frame (core.noise.flow_noise)."""

    def __init__(self, seed: int, flow: Flow, variation: float = 0.0, frozen: bool = False):
        self.seed, self.flow, self.variation, self.frozen = seed, flow, variation, frozen

    def generate_noise(self, input_latent: dict) -> torch.Tensor:
        latent = input_latent["samples"]
        frames = latent.shape[2] if latent.ndim == 5 else latent.shape[0]
        try:
            # Video latents: pixel frames reach latent frames through the VAE's causal layout (core.frames).
            mapping = mapping_for_counts(self.flow.flow.shape[0], frames) if latent.ndim == 5 else IDENTITY
            motion = mapping.fit(self.flow.flow, frames, "the flow", "mean")
        except FrameCountError as e:
            raise ValueError(f"IV_FlowNoise: {e}") from e
        return flow_noise(
            tuple(latent.shape), motion, self.seed, self.variation, dtype=latent.dtype, frozen=self.frozen
        )


class IV_FlowNoise(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="IV_FlowNoise",
            display_name="Flow Noise (IV)",
            category="InteractiveVideo/sampling",
            description="NOISE for SamplerCustomAdvanced (the paper's Eq. 3, R(ε)): frame 0's seeded noise carried "
            "along the flow, so moving content keeps its noise. Integral noise warping: every sample stays N(0, 1) "
            "and neighbouring samples stay independent however far a drag stretches the image (no low-frequency "
            "noise for the model to read as structure). Still pixels get fresh noise each frame unless 'frozen'; "
            "noise entering the view is fresh. Same seed, same noise.",
            inputs=[
                io.Int.Input(
                    "noise_seed",
                    default=0,
                    min=0,
                    max=0xFFFFFFFFFFFFFFFF,
                    control_after_generate=True,
                    tooltip="Seed of the base noise.",
                ),
                iv_types.Flow.Input("flow", tooltip="The flow (IV_FLOW) to carry frame 0's noise along."),
                io.Float.Input(
                    "variation",
                    default=0.0,
                    min=0.0,
                    max=1.0,
                    step=0.01,
                    tooltip="Share of independent per-frame noise mixed into the moving content (variance-preserving); "
                    "0 = the paper's R(ε).",
                ),
                io.Boolean.Input(
                    "frozen",
                    default=False,
                    optional=True,
                    tooltip="Still pixels repeat frame 0's noise in every frame (the paper's R(ε) as is). Off: they "
                    "get independent noise per frame, as in an ordinary video latent.",
                ),
            ],
            outputs=[io.Noise.Output()],
        )

    @classmethod
    @checked
    def execute(cls, noise_seed, flow, variation, frozen=False) -> io.NodeOutput:
        if not isinstance(flow, Flow):
            raise ValueError(f"'flow' must be an IV_FLOW (from IV_TrajectoryToFlow), got {type(flow)}")
        return io.NodeOutput(FlowNoise(noise_seed, flow, variation, frozen))
