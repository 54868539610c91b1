"""AnimateDiff on the user's own SD1.5 checkpoint: load a motion module, apply it, align frames to an image.

Frames travel in the batch dimension; the motion module sees cond and uncond as separate clips.
"""

from __future__ import annotations

import torch
from comfy_api.latest import io

from ..core.alignment import AFFINITY_PRESETS, preset_affinity
from ..core.blend import FREE_MOTION_TOLERANCE
from ..core.instructions import Align, edited_image
from . import comfy_internals as ci
from . import iv_types
from .checks import checked, require_memory
from .guider import as_paints

ci.register_motion_module_folder()

AFFINITY_CHOICES = [*AFFINITY_PRESETS, "custom"]
# Image Align's free_motion choices and the alignment tolerance each means (core.blend.free_motion_gate).
FREE_MOTION = {"keep": FREE_MOTION_TOLERANCE, "hold": 0.0}
AFFINITY_TOOLTIP = (
    "How strongly each frame stays tied to the image, PIA's presets: frame i gets values[|i − condition frame|]. "
    "animation S/M/L = small/moderate/large motion; loop = the same, mirrored so the clip returns to the image; "
    "style transfer = looser ties. 'custom' uses the list below."
)


def _image_affinity_inputs() -> list:
    """The inputs IV_PIAConditioning and IV_ImageAlign share: the image, its VAE and the per-frame affinity."""
    return [
        io.Vae.Input("vae", tooltip="The checkpoint's VAE, to encode the image."),
        io.Image.Input("image", tooltip="The intermediate image (the first image of the batch is used)."),
        io.Int.Input(
            "frames",
            default=16,
            min=1,
            max=4096,
            tooltip="Frames in the clip: the latent batch size (AnimateDiff), or the video's length in frames "
            "(Wan: 'length' of WanImageToVideo, e.g. 81).",
        ),
        io.Int.Input(
            "condition_frame",
            default=0,
            min=0,
            max=4095,
            tooltip="The frame that shows the image exactly (affinity 1); others decay with their distance to it.",
        ),
        io.Combo.Input("affinity", options=AFFINITY_CHOICES, default="animation M", tooltip=AFFINITY_TOOLTIP),
        io.String.Input(
            "custom_affinity",
            default="1, 0.8, 0.7",
            tooltip="Used when affinity is 'custom': comma-separated values in [0, 1] for distance 0, 1, 2, …; "
            "the last value repeats.",
        ),
    ]


def _affinity_and_latent(vae, image, frames, condition_frame, affinity, custom_affinity):
    """image: [B, H, W, C] in [0, 1] -> (affinity [frames], the first image's codes [K, C, h, w]: K = 1 for an
    image VAE, a still's 3 codes for a video VAE; comfy_internals.encode_codes)."""
    weights = preset_affinity(frames, condition_frame, affinity, custom_affinity)
    return weights, ci.encode_codes(vae, image[:1, :, :, :3])


class IV_LoadMotionModule(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="IV_LoadMotionModule",
            display_name="Load Motion Module (IV)",
            category="InteractiveVideo/animatediff",
            description="Load an AnimateDiff v1/v2/v3 (SD1.5) or PIA motion module from models/animatediff_models. "
            "The version is detected from the file's keys; SDXL/HotshotXL modules and other files are refused.",
            inputs=[
                io.Combo.Input(
                    "motion_module",
                    options=ci.motion_module_files(),
                    tooltip="A file in models/animatediff_models (.safetensors, .ckpt, .pt, .pth), e.g. "
                    "mm_sd_v15_v2.ckpt, v3_sd15_mm.ckpt or pia.ckpt.",
                )
            ],
            outputs=[
                iv_types.MotionModule.Output(display_name="motion_module"),
                io.String.Output(display_name="format"),
            ],
        )

    @classmethod
    @checked
    def execute(cls, motion_module: str) -> io.NodeOutput:
        weights = ci.load_motion_module_file(motion_module)
        return io.NodeOutput(weights, weights.description, ui={"text": [weights.description]})


class IV_ApplyAnimateDiff(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="IV_ApplyAnimateDiff",
            display_name="Apply AnimateDiff (IV)",
            category="InteractiveVideo/animatediff",
            description="Insert a motion module into an SD1.5 MODEL (a patched clone; the input stays untouched). "
            "Frames are the latent batch; for clips longer than the module's positional encoding add ComfyUI's "
            "context windows on top.",
            inputs=[
                io.Model.Input("model", tooltip="An SD1.5 MODEL, e.g. from Load Checkpoint."),
                iv_types.MotionModule.Input("motion_module", tooltip="From Load Motion Module (IV)."),
                io.Combo.Input(
                    "beta_schedule",
                    options=list(ci.BETA_SCHEDULES),
                    default="auto",
                    tooltip="Noise schedule. auto = the one the motion module was trained with (AnimateDiff and "
                    "PIA: sqrt_linear, betas linear 0.00085..0.012); linear = SD1.5's own; keep model's = leave "
                    "any sampling patch already on the model.",
                ),
                io.Float.Input(
                    "motion_scale",
                    default=1.0,
                    min=0.0,
                    max=4.0,
                    step=0.01,
                    tooltip="Scales the temporal attention logits: above 1 more motion, below 1 less.",
                ),
                io.Float.Input(
                    "effect",
                    default=1.0,
                    min=0.0,
                    max=1.0,
                    step=0.01,
                    tooltip="How much of the motion module's update is used: 0 = off (plain SD1.5 per frame), "
                    "1 = full.",
                ),
            ],
            outputs=[io.Model.Output()],
        )

    @classmethod
    @checked
    def execute(cls, model, motion_module, beta_schedule, motion_scale, effect) -> io.NodeOutput:
        return io.NodeOutput(ci.apply_motion_module(model, motion_module, motion_scale, effect, beta_schedule))


class IV_PIAConditioning(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="IV_PIAConditioning",
            display_name="PIA Conditioning (IV)",
            category="InteractiveVideo/animatediff",
            description="Condition every frame on the image, PIA-style: the UNet receives [noisy latent, "
            "per-frame affinity mask, image latent] (9 channels). Needs a PIA motion module applied to the model.",
            inputs=[
                io.Conditioning.Input("positive", tooltip="Positive prompt conditioning."),
                io.Conditioning.Input("negative", tooltip="Negative prompt conditioning."),
                *_image_affinity_inputs(),
                iv_types.Paint.Input(
                    "paint",
                    optional=True,
                    tooltip="The paint instruction (Paint Encode (IV)) on this image: PIA's image channels then "
                    "show the painted image, so they agree with the paint instead of pulling back to the original.",
                ),
            ],
            outputs=[
                io.Conditioning.Output(display_name="positive"),
                io.Conditioning.Output(display_name="negative"),
                io.Latent.Output(display_name="latent"),
            ],
        )

    @classmethod
    @checked
    def execute(
        cls, positive, negative, vae, image, frames, condition_frame, affinity, custom_affinity, paint=None
    ) -> io.NodeOutput:
        weights, latent = _affinity_and_latent(vae, image, frames, condition_frame, affinity, custom_affinity)
        if latent.shape[0] != 1 or latent.shape[1] != 4:
            raise ValueError(
                "IV_PIAConditioning: PIA is an SD1.5 model and needs SD1.5's VAE (4 channels); this VAE gives "
                f"{latent.shape[1]} channels{' over video frames' if latent.shape[0] != 1 else ''}. For Wan, use "
                "Apply Instructions (IV) with Image Align (IV) instead"
            )
        paints = as_paints(paint)
        if paints:
            if tuple(paints[0].original.shape[1:]) != tuple(latent.shape[1:]):
                raise ValueError(
                    f"IV_PIAConditioning: the paint was encoded at {tuple(paints[0].original.shape[1:])} (C, h, w) "
                    f"but the image here is {tuple(latent.shape[1:])}: paint on the same image at the same size"
                )
            painted, _ = edited_image(latent, paints)
            latent = painted[:1]
        _, c, h, w = latent.shape
        # The empty latent, the [mask, image] channels per frame and ComfyUI's copy of them for each cond.
        require_memory(cls, frames * h * w * (3 * c + 10) * 4, f"{frames} frames of {w}x{h} latents", "the frames")
        image_latent = ci.sd15_process_latent_in(latent).expand(frames, c, h, w)
        mask = weights.view(frames, 1, 1, 1).expand(frames, 1, h, w)
        concat = torch.cat([mask, image_latent], dim=1)  # [F, 5, h, w]: PIA's channels 4..8
        return io.NodeOutput(
            ci.set_noise_concat(positive, concat),
            ci.set_noise_concat(negative, concat),
            {"samples": torch.zeros(frames, c, h, w)},
        )


class IV_ImageAlign(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="IV_ImageAlign",
            display_name="Image Align (IV)",
            category="InteractiveVideo/animatediff",
            description="The alignment instruction (IV_ALIGN): ties every frame to the intermediate image with "
            "PIA-style decaying weights, for Apply Instructions (IV) or the guider. It pulls toward the edited image "
            "moved along the flow (paint and drag win where they act); works with plain AnimateDiff v2/v3, no PIA "
            "file needed.",
            inputs=[
                *_image_affinity_inputs(),
                io.Combo.Input(
                    "free_motion",
                    options=list(FREE_MOTION),
                    default="hold",
                    optional=True,
                    tooltip="hold: every frame is held to the image wholly (PIA's behaviour); this also freezes "
                    "what no instruction moves. keep: where the model moves something no paint or drag placed (its "
                    "prediction there is far from the image), the alignment lets go, so free objects keep their "
                    "motion; the still background and the painted and dragged regions (the whole path) stay tied. "
                    "A model that lets objects fade shows that too under keep (docs/benchmarks.md).",
                ),
            ],
            outputs=[iv_types.Align.Output(display_name="align", tooltip="The alignment instruction (IV_ALIGN).")],
        )

    @classmethod
    @checked
    def execute(
        cls, vae, image, frames, condition_frame, affinity, custom_affinity, free_motion: str = "hold"
    ) -> io.NodeOutput:
        weights, z0 = _affinity_and_latent(vae, image, frames, condition_frame, affinity, custom_affinity)
        return io.NodeOutput(Align(image=z0, affinity=weights, tolerance=FREE_MOTION[free_motion]))
