"""IV_Sampler: KSampler with InteractiveVideo's instructions, for users who skip the custom-sampler nodes."""

from __future__ import annotations

from comfy_api.latest import io

from .checks import checked
from .comfy_internals import SAMPLER_NAMES, SCHEDULER_NAMES, random_noise, sample_like_ksampler
from .guider import BLEND_DESCRIPTION, guider_from_inputs, guider_inputs
from .noise import FlowNoise


class _SeededNoise:
    def __init__(self, seed: int):
        self.seed = seed

    def generate_noise(self, latent: dict):
        return random_noise(latent, self.seed)


class IV_Sampler(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="IV_Sampler",
            display_name="InteractiveVideo Sampler (IV)",
            category="InteractiveVideo/sampling",
            description="KSampler plus InteractiveVideo's instructions in one node (progress bar and latent previews "
            "as KSampler). " + BLEND_DESCRIPTION + " With 'flow_noise' on (and a flow), the initial noise is frame "
            "0's noise warped along the flow (IV_FlowNoise).",
            inputs=[
                io.Model.Input("model", tooltip="The (video) model; it is cloned, never modified."),
                io.Int.Input(
                    "seed",
                    default=0,
                    min=0,
                    max=0xFFFFFFFFFFFFFFFF,
                    control_after_generate=True,
                    tooltip="The random seed used for creating the noise.",
                ),
                io.Int.Input("steps", default=20, min=1, max=10000, tooltip="Number of denoising steps."),
                io.Float.Input(
                    "cfg",
                    default=8.0,
                    min=0.0,
                    max=100.0,
                    step=0.1,
                    round=0.01,
                    tooltip="Classifier-free guidance scale.",
                ),
                io.Combo.Input("sampler_name", options=SAMPLER_NAMES, tooltip="The sampling algorithm."),
                io.Combo.Input("scheduler", options=SCHEDULER_NAMES, tooltip="How σ decreases over the steps."),
                io.Conditioning.Input("positive", tooltip="Positive conditioning."),
                io.Conditioning.Input("negative", tooltip="Negative conditioning."),
                io.Latent.Input("latent_image", tooltip="The latent to denoise (frames in the batch)."),
                io.Float.Input(
                    "denoise",
                    default=1.0,
                    min=0.0,
                    max=1.0,
                    step=0.01,
                    tooltip="How much of the schedule to run (1 = from pure noise), as KSampler.",
                ),
                *guider_inputs()[:-2],
                io.Boolean.Input(
                    "flow_noise",
                    default=True,
                    tooltip="With a flow: start from frame 0's noise warped along it (Eq. 3). Off: KSampler's noise.",
                ),
                *guider_inputs()[-2:],
            ],
            outputs=[io.Latent.Output()],
            hidden=[io.Hidden.unique_id],
        )

    @classmethod
    @checked
    def execute(
        cls,
        model,
        seed,
        steps,
        cfg,
        sampler_name,
        scheduler,
        positive,
        negative,
        latent_image,
        denoise,
        flow_noise,
        **instructions,
    ) -> io.NodeOutput:
        guider = guider_from_inputs(cls.hidden.unique_id, model, positive, negative, cfg, **instructions)
        flow = instructions.get("flow")
        noise = FlowNoise(seed, flow) if flow_noise and flow is not None else _SeededNoise(seed)
        out = sample_like_ksampler(model, guider, noise, seed, steps, sampler_name, scheduler, latent_image, denoise)
        return io.NodeOutput(out)
