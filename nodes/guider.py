"""IV_ResidualBlendGuider (GUIDER) and IV_FlowNoise (NOISE): the instructions steering every sampling step."""

from __future__ import annotations

import torch
from comfy_api.latest import io

from ..core.blend import CURVES, Schedule, resample_frames
from ..core.edit import Edit
from ..core.flow import Flow
from ..core.noise import flow_noise
from . import iv_types
from .comfy_internals import ResidualBlendGuider, has_image_conditioning, show_text

MODES = ("residual", "dual")

BLEND_DESCRIPTION = (
    "Per step, after CFG, the denoised prediction x̂₀ of frame f is pulled toward each instruction k: "
    "x̂₀ ← x̂₀ + s(σ)·Σ_k M_k,f·(T_k,f − x̂₀) / max(1, Σ_k M_k,f). "
    "Paint edits: T_f = z₀′ warped to frame f along the flow, M_f = max(mask warped along the flow, flow weight) "
    "(without a flow: T_f = z₀′, M_f = mask). Align edits: T_f = their target, M_f = mask·frame_weights[f]. "
    "s(σ) = strength shaped by the curve over [start_percent, end_percent] of sampling, 0 outside. "
    "'dual' (Eq. 4) instead predicts a second x̂₀′ with the model's image latent replaced by the edited one and "
    "uses x̂₀ + s·M·(x̂₀′ − x̂₀); models without image conditioning run 'residual' (with a warning)."
)


def as_edits(value: Edit | list[Edit] | None, name: str) -> list[Edit]:
    if value is None:
        return []
    edits = list(value) if isinstance(value, (list, tuple)) else [value]
    for e in edits:
        if not isinstance(e, Edit):
            raise ValueError(f"'{name}' must be an IV_EDIT (from IV_PaintEncode or IV_ImageAlign), got {type(e)}")
    return edits


def blend_inputs(default_mode: str = "residual") -> list[io.Input]:
    """The inputs IV_ResidualBlendGuider and IV_Sampler share (instructions and how strongly they act)."""
    return [
        iv_types.Edit.Input(
            "edit",
            optional=True,
            tooltip="Paint edit(s) from IV_PaintEncode: targets and regions, moved along the flow if one is given.",
        ),
        iv_types.Flow.Input(
            "flow",
            optional=True,
            tooltip="Dense flow from a trajectory (IV_FLOW): moves the paint targets/regions; its weight adds the "
            "moving region. Needs an edit to supply the image that moves.",
        ),
        iv_types.Edit.Input(
            "align",
            optional=True,
            tooltip="Image alignment edit(s) from IV_ImageAlign: pulls frames toward the intermediate image, "
            "scaled per frame by their frame weights.",
        ),
        io.Float.Input(
            "strength",
            default=0.5,
            min=0.0,
            max=1.0,
            step=0.01,
            tooltip="1 − λ of the paper: 0 = the model alone, 1 = follow the instructions fully inside their regions.",
        ),
        io.Float.Input(
            "start_percent",
            default=0.0,
            min=0.0,
            max=1.0,
            step=0.01,
            tooltip="Sampling progress (0 = first step) where the blend starts acting.",
        ),
        io.Float.Input(
            "end_percent",
            default=1.0,
            min=0.0,
            max=1.0,
            step=0.01,
            tooltip="Sampling progress (1 = last step) after which the blend stops acting.",
        ),
        io.Combo.Input(
            "curve",
            options=list(CURVES),
            default="constant",
            tooltip="Strength over the span: constant s, linear s·(1−u), cosine s·(1+cos πu)/2, u = 0→1 over it.",
        ),
        io.Combo.Input(
            "mode",
            options=list(MODES),
            default=default_mode,
            tooltip="residual: one model pass per step. dual: Eq. 4 with a second (batched) prediction on the "
            "edited image latent; needs an image-conditioned model, otherwise runs as residual.",
        ),
    ]


def build_guider(
    node_id,
    model,
    positive,
    negative,
    cfg: float,
    strength: float,
    start_percent: float,
    end_percent: float,
    curve: str,
    mode: str,
    edit=None,
    flow=None,
    align=None,
) -> ResidualBlendGuider:
    """The guider from the inputs of ``blend_inputs`` (shared by IV_ResidualBlendGuider and IV_Sampler)."""
    if start_percent > end_percent:
        raise ValueError(
            f"start_percent ({start_percent}) is after end_percent ({end_percent}): the blend would never act"
        )
    if flow is not None and not isinstance(flow, Flow):
        raise ValueError(f"'flow' must be an IV_FLOW (from IV_TrajectoryToFlow), got {type(flow)}")
    paint, aligned = as_edits(edit, "edit"), as_edits(align, "align")
    if flow is not None and not paint:
        raise ValueError(
            "A flow was given without an edit: the flow moves an image, so connect IV_PaintEncode's edit (with "
            "the original as 'painted' if nothing was painted)"
        )
    dual = mode == "dual"
    if dual and not has_image_conditioning(positive):
        show_text(
            node_id,
            "IV_ResidualBlendGuider: mode 'dual' needs a model conditioned on an image latent (concat_latent_image "
            "in the conditioning, e.g. PIA/SVD-like/inpainting); this conditioning has none, so it runs as 'residual'",
        )
        dual = False
    guider = ResidualBlendGuider(
        model, paint, aligned, flow, Schedule(strength, start_percent, end_percent, curve), dual=dual, node_id=node_id
    )
    guider.set_conds(positive, negative)
    guider.set_cfg(cfg)
    return guider


class IV_ResidualBlendGuider(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="IV_ResidualBlendGuider",
            display_name="Residual Blend Guider (IV)",
            category="InteractiveVideo/sampling",
            description="A GUIDER for SamplerCustomAdvanced (any sampler and scheduler): CFG plus InteractiveVideo's "
            "synergistic instructions. " + BLEND_DESCRIPTION,
            inputs=[
                io.Model.Input("model", tooltip="The (video) model; it is cloned, never modified."),
                io.Conditioning.Input("positive", tooltip="Positive conditioning, as for CFGGuider."),
                io.Conditioning.Input("negative", tooltip="Negative conditioning, as for CFGGuider."),
                io.Float.Input(
                    "cfg",
                    default=8.0,
                    min=0.0,
                    max=100.0,
                    step=0.1,
                    round=0.01,
                    tooltip="Classifier-free guidance scale.",
                ),
                *blend_inputs(),
            ],
            outputs=[io.Guider.Output()],
            hidden=[io.Hidden.unique_id],
        )

    @classmethod
    def execute(cls, model, positive, negative, cfg, **blend) -> io.NodeOutput:
        return io.NodeOutput(build_guider(cls.hidden.unique_id, model, positive, negative, cfg, **blend))


class FlowNoise:
    """ComfyUI NOISE: frame 0's seeded noise warped along the flow into every frame (core.noise.flow_noise)."""

    def __init__(self, seed: int, flow: Flow, variation: float = 0.0):
        self.seed, self.flow, self.variation = seed, flow, variation

    def generate_noise(self, input_latent: dict) -> torch.Tensor:
        latent = input_latent["samples"]
        frames = latent.shape[2] if latent.ndim == 5 else latent.shape[0]
        motion = self.flow.flow
        if latent.ndim == 5:
            motion = resample_frames(motion, frames)
        elif motion.shape[0] not in (1, frames):
            raise ValueError(
                f"IV_FlowNoise: the flow has {motion.shape[0]} frames but the latent batch has {frames}: make the "
                f"flow with {frames} frames"
            )
        return flow_noise(tuple(latent.shape), motion, self.seed, self.variation, dtype=latent.dtype)


class IV_FlowNoise(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="IV_FlowNoise",
            display_name="Flow Noise (IV)",
            category="InteractiveVideo/sampling",
            description="NOISE for SamplerCustomAdvanced (the paper's Eq. 3, R(ε)): frame 0's seeded noise warped "
            "along the flow into every frame, so moving content keeps its noise. Warping is variance-preserving "
            "(bilinear weights renormalised), so every frame stays standard normal; noise entering the view is "
            "fresh. Same seed, same noise.",
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
                    tooltip="Share of independent per-frame noise mixed in (variance-preserving); 0 = the paper's R(ε).",
                ),
            ],
            outputs=[io.Noise.Output()],
        )

    @classmethod
    def execute(cls, noise_seed, flow, variation) -> io.NodeOutput:
        if not isinstance(flow, Flow):
            raise ValueError(f"'flow' must be an IV_FLOW (from IV_TrajectoryToFlow), got {type(flow)}")
        return io.NodeOutput(FlowNoise(noise_seed, flow, variation))
