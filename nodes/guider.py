"""The instructions steering every sampling step: IV_ApplyInstructions (a MODEL patch, any sampler) and
IV_ResidualBlendGuider (GUIDER, also Eq. 4's dual path). The noise they start from: nodes/noise.py."""

from __future__ import annotations

from comfy_api.latest import io

from ..core.blend import CURVES, DEFAULT_SCHEDULE, STEERING, RegionClock, Schedule
from ..core.flow import Flow
from ..core.instructions import MOVED_WITHOUT_FLOW, Align, Paint
from . import iv_types
from .checks import checked
from .comfy_internals import (
    InstructionPlan,
    ResidualBlendGuider,
    apply_instructions,
    has_image_conditioning,
    latent_frames,
    show_text,
)

MODES = ("residual", "dual")

BLEND_DESCRIPTION = (
    "The instructions compose by one rule (docs/method.md, 'Instructions'): all roles share one target per frame f, the "
    "edited image E = z₀ + P⊙(z₀′ − z₀) moved along the flow, T_f = warp(E, flow_f), and their regions combine by "
    "max, M_f = max(paint region moved along the flow, the flow's weight, alignment affinity a_f): inside paint "
    "the paint shows, inside a dragged region the moved image, elsewhere alignment pulls toward the same moved, "
    "edited image by a_f. Per step, after CFG: x̂₀ ← x̂₀ + s(σ)·M_f⊙(T_f − x̂₀), s(σ) = strength shaped by the "
    "curve over [start_percent, end_percent] of sampling progress in σ, 0 outside."
)


def as_paints(value) -> list[Paint]:
    if value is None:
        return []
    paints = list(value) if isinstance(value, (list, tuple)) else [value]
    for p in paints:
        if not isinstance(p, Paint):
            raise ValueError(f"the paint input must be an IV_PAINT (from Paint Encode (IV)), got {type(p).__name__}")
    return paints


def _check_role(value, kind: type, what: str, source: str):
    if value is not None and not isinstance(value, kind):
        raise ValueError(f"'{what}' must be an {source}, got {type(value).__name__}")
    return value


def instruction_inputs(paint_name: str = "paint") -> list[io.Input]:
    """The instruction roles, shared by Apply Instructions, the guider and the sampler."""
    return [
        iv_types.Paint.Input(
            paint_name,
            optional=True,
            tooltip="The paint instruction (IV_PAINT from Paint Encode (IV)), or a list of them: inside the painted "
            "region the video shows the paint, moved along the flow if one is given.",
        ),
        iv_types.Flow.Input(
            "flow",
            optional=True,
            tooltip="The motion instruction (IV_FLOW from Trajectory to Flow (IV)): moves the image and the paint "
            "on it; inside dragged regions every frame shows the image moved there.",
        ),
        iv_types.Align.Input(
            "align",
            optional=True,
            tooltip="The alignment instruction (IV_ALIGN from Image Align (IV)): ties every frame to the edited "
            "image moved along the flow, frame f with its affinity; never dilutes paint or drag.",
        ),
    ]


MOVED_INPUT_TOOLTIP = (
    "Optional, for drags: Motion Preview (IV)'s frames (the image, or the painted image, moved along the flow) "
    "encoded with the model's VAE (VAE Encode). It becomes the target the flow moves to, as the VAE itself encodes "
    "motion: a video VAE packs several frames into one latent frame (4 for Wan), and the image moved in the latent "
    "shows them all at their mean place, so the last frames lag behind the track. The paint stays where it is "
    "painted either way."
)
IMAGE_INPUT_TOOLTIP = (
    "The intermediate image's latent (VAE Encode): the image a flow moves when neither a paint nor an alignment "
    "is connected (they carry it). Needed for a drag on its own. With Wan's video VAE, encode the image repeated "
    "9 times (RepeatImageBatch → VAE Encode): that still's 3 latent frames are the image's codes for latent "
    "frames 0, 1 and later; a single frame's code stands for every frame otherwise."
)


def steering_inputs() -> list[io.Input]:
    return [
        io.Combo.Input(
            "steering",
            options=list(STEERING),
            default="residual",
            optional=True,
            tooltip="residual: every role pulls with the schedule above. region clock (Time-to-Move's dual clock): "
            "the painted and dragged region is pinned to its target (strength 1, so it follows the noised moved "
            "image) until release_percent, a later σ than the rest; alignment follows the schedule above.",
        ),
        io.Float.Input(
            "release_percent",
            default=0.9,
            min=0.0,
            max=1.0,
            step=0.01,
            optional=True,
            tooltip="region clock only: sampling progress in σ (0 = the largest σ, 1 = σ 0) after which the painted "
            "and dragged region is left to the model. Set it after end_percent: the region holds longer than the "
            "background.",
        ),
    ]


def schedule_inputs(defaults: Schedule = DEFAULT_SCHEDULE) -> list[io.Input]:
    return [
        io.Float.Input(
            "strength",
            default=defaults.strength,
            min=0.0,
            max=1.0,
            step=0.01,
            tooltip="1 − λ of the paper: 0 = the model alone, 1 = the instructions fully inside their regions.",
        ),
        io.Float.Input(
            "start_percent",
            default=defaults.start,
            min=0.0,
            max=1.0,
            step=0.01,
            tooltip="Sampling progress in σ (0 = the largest σ, 1 = σ 0; not the step count) where the "
            "instructions start acting.",
        ),
        io.Float.Input(
            "end_percent",
            default=defaults.end,
            min=0.0,
            max=1.0,
            step=0.01,
            tooltip="Sampling progress in σ after which the model is left alone. The default 0.8 leaves the last "
            "refinement to the model instead of ending on a blend of model and target.",
        ),
        io.Combo.Input(
            "curve",
            options=list(CURVES),
            default=defaults.curve,
            tooltip="Strength over the span: constant s, linear s·(1−u), cosine s·(1+cos πu)/2, u = 0→1 over it.",
        ),
    ]


def build_plan(
    strength: float,
    start_percent: float,
    end_percent: float,
    curve: str,
    paint=None,
    flow=None,
    align=None,
    image: dict | None = None,
    node_id: str | None = None,
    steering: str = "residual",
    release_percent: float = 0.9,
    moved: dict | None = None,
) -> InstructionPlan:
    """The instructions and their schedule, checked, from the inputs of ``instruction_inputs``/``schedule_inputs``
    (and ``steering_inputs``)."""
    if start_percent > end_percent:
        raise ValueError(
            f"start_percent ({start_percent}) is after end_percent ({end_percent}): the instructions would never act"
        )
    _check_role(flow, Flow, "flow", "IV_FLOW (from Trajectory to Flow (IV))")
    _check_role(align, Align, "align", "IV_ALIGN (from Image Align (IV))")
    if steering not in STEERING:
        raise ValueError(f"steering must be one of {list(STEERING)}, got {steering!r}")
    latent = None
    if image is not None:
        # A video VAE's latent frames are the image's codes (core.frames.expand_codes); an image VAE's first latent.
        samples = image["samples"] if isinstance(image, dict) else image
        latent = latent_frames(samples) if samples.ndim == 5 else samples[:1].float()
    instructions = {"paints": as_paints(paint), "flow": flow, "align": align, "image": latent}
    if moved is not None:
        if flow is None:
            raise ValueError(MOVED_WITHOUT_FLOW)
        instructions["moved"] = latent_frames(moved)
    if flow is not None and not instructions["paints"] and align is None and latent is None:
        raise ValueError(
            "a flow moves an image, and none is connected: connect the intermediate image's latent (VAE Encode) to "
            "'image', or a paint (Paint Encode (IV)) or an alignment (Image Align (IV)), which carry it"
        )
    clock = RegionClock(release_percent) if steering == "region clock" else None
    return InstructionPlan(instructions, Schedule(strength, start_percent, end_percent, curve), node_id, clock)


def build_guider(
    node_id, model, positive, negative, cfg: float, mode: str, plan: InstructionPlan
) -> ResidualBlendGuider:
    dual = mode == "dual"
    if dual and not has_image_conditioning(positive):
        show_text(
            node_id,
            "IV_ResidualBlendGuider: mode 'dual' needs a model conditioned on an image latent (concat_latent_image "
            "in the conditioning, or PIA Conditioning's image channels); this conditioning has none, so it runs "
            "as 'residual'",
        )
        dual = False
    guider = ResidualBlendGuider(model, plan, dual=dual, node_id=node_id)
    guider.set_conds(positive, negative)
    guider.set_cfg(cfg)
    return guider


def guider_from_inputs(
    node_id,
    model,
    positive,
    negative,
    cfg: float,
    mode: str,
    strength: float,
    start_percent: float,
    end_percent: float,
    curve: str,
    edit=None,
    flow=None,
    align=None,
    image=None,
    moved=None,
) -> ResidualBlendGuider:
    """The guider from the inputs of ``guider_inputs`` (IV_ResidualBlendGuider and IV_Sampler)."""
    plan = build_plan(strength, start_percent, end_percent, curve, edit, flow, align, image, node_id, moved=moved)
    return build_guider(node_id, model, positive, negative, cfg, mode, plan)


def guider_inputs() -> list[io.Input]:
    """Everything after model/conds/cfg that IV_ResidualBlendGuider and IV_Sampler share (order kept for saved
    workflows: the paint input is still called 'edit' there)."""
    return [
        *instruction_inputs(paint_name="edit"),
        *schedule_inputs(),
        io.Combo.Input(
            "mode",
            options=list(MODES),
            default="residual",
            tooltip="residual: one model pass per step (the same as Apply Instructions (IV) on the MODEL). dual: "
            "Eq. 4, a second (batched) prediction with the model's image channels (PIA Conditioning, or "
            "concat_latent_image models) replaced by the edited image moved along the flow; without image "
            "conditioning it runs as residual.",
        ),
        io.Latent.Input("image", optional=True, tooltip=IMAGE_INPUT_TOOLTIP),
        io.Latent.Input("moved", optional=True, tooltip=MOVED_INPUT_TOOLTIP),
    ]


class IV_ApplyInstructions(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="IV_ApplyInstructions",
            display_name="Apply Instructions (IV)",
            category="InteractiveVideo/sampling",
            description="Patches a MODEL so that any sampler applies InteractiveVideo's instructions: put it on the "
            "MODEL line before KSampler, KSamplerAdvanced or SamplerCustom(Advanced) with any guider. A clone is "
            "patched (a post-CFG function); the input MODEL is untouched. " + BLEND_DESCRIPTION + " For Eq. 4's "
            "'dual' mode use Residual Blend Guider (IV).",
            inputs=[
                io.Model.Input("model", tooltip="The (video) model; it is cloned, never modified."),
                *instruction_inputs(),
                io.Latent.Input("image", optional=True, tooltip=IMAGE_INPUT_TOOLTIP),
                *schedule_inputs(),
                *steering_inputs(),
                io.Latent.Input("moved", optional=True, tooltip=MOVED_INPUT_TOOLTIP),
            ],
            outputs=[io.Model.Output(tooltip="The model with the instructions applied at every step.")],
            hidden=[io.Hidden.unique_id],
        )

    @classmethod
    @checked
    def execute(cls, model, **instructions) -> io.NodeOutput:
        plan = build_plan(**instructions, node_id=cls.hidden.unique_id)
        return io.NodeOutput(apply_instructions(model, plan))


class IV_ResidualBlendGuider(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="IV_ResidualBlendGuider",
            display_name="Residual Blend Guider (IV)",
            category="InteractiveVideo/sampling",
            description="A GUIDER for SamplerCustomAdvanced (any sampler and scheduler): CFG plus InteractiveVideo's "
            "instructions. " + BLEND_DESCRIPTION + " 'dual' (Eq. 4) predicts a second x̂₀′ with the model's image "
            "channels replaced by the edited image moved along the flow and uses x̂₀ + s·M⊙(x̂₀′ − x̂₀).",
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
                *guider_inputs(),
            ],
            outputs=[io.Guider.Output()],
            hidden=[io.Hidden.unique_id],
        )

    @classmethod
    @checked
    def execute(cls, model, positive, negative, cfg, **instructions) -> io.NodeOutput:
        return io.NodeOutput(guider_from_inputs(cls.hidden.unique_id, model, positive, negative, cfg, **instructions))
