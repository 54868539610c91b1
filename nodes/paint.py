"""IV_PaintEncode: the painted edit as an ``IV_EDIT`` (target z₀′, original z₀, soft region at latent size)."""

from __future__ import annotations

import torch
from comfy_api.latest import io

from ..core.edit import Edit
from ..core.mask import painted_region, to_latent
from . import iv_types
from .comfy_internals import show_text


def _check_sizes(original: torch.Tensor, painted: torch.Tensor, mask: torch.Tensor | None) -> None:
    if original.shape[0] != 1:
        raise ValueError(
            f"IV_PaintEncode: 'original' must be one image, got a batch of {original.shape[0]}: pick one frame "
            "(e.g. ImageFromBatch)"
        )
    if original.shape[1:3] != painted.shape[1:3]:
        raise ValueError(
            f"IV_PaintEncode: 'painted' is {painted.shape[2]}x{painted.shape[1]} but 'original' is "
            f"{original.shape[2]}x{original.shape[1]}: paint on the original at its own size, or resize one to the "
            "other (ImageScale) before this node"
        )
    if mask is not None and tuple(mask.shape[-2:]) != tuple(original.shape[1:3]):
        raise ValueError(
            f"IV_PaintEncode: 'mask' is {mask.shape[-1]}x{mask.shape[-2]} but the images are "
            f"{original.shape[2]}x{original.shape[1]}: draw the mask on the original image, or resize it"
        )
    if mask is not None and mask.ndim == 3 and mask.shape[0] not in (1, painted.shape[0]):
        raise ValueError(
            f"IV_PaintEncode: 'mask' has {mask.shape[0]} frames for {painted.shape[0]} painted frames: give one mask "
            "or one per painted frame"
        )


class IV_PaintEncode(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="IV_PaintEncode",
            display_name="Paint Encode (IV)",
            category="InteractiveVideo/edit",
            description=(
                "Turns a painted edit into an instruction for IV_ResidualBlendGuider: encodes the original and the "
                "painted image with the VAE (raw latents z₀, z₀′) and finds the painted region. Without a mask the "
                "region is where the images differ by more than 'threshold' (cleaned of specks, grown by 'grow' "
                "pixels, feathered by 'feather'); it is averaged down to latent resolution. Images must be the same "
                "size: nothing is cropped or resized silently."
            ),
            inputs=[
                io.Vae.Input("vae", tooltip="The VAE of the checkpoint that will sample the video."),
                io.Image.Input("original", tooltip="The intermediate image before editing (one image)."),
                io.Image.Input(
                    "painted",
                    tooltip="The same image with the user's paint (one image, or one per frame), same size as original.",
                ),
                io.Mask.Input(
                    "mask",
                    optional=True,
                    tooltip="Where the edit applies (1 = edited). Leave empty to detect it from the difference.",
                ),
                io.Float.Input(
                    "threshold",
                    default=0.04,
                    min=0.0,
                    max=1.0,
                    step=0.005,
                    tooltip="Smallest per-channel change (0-1) that counts as paint when no mask is given.",
                ),
                io.Int.Input(
                    "grow",
                    default=8,
                    min=0,
                    max=256,
                    tooltip="Pixels to dilate the detected region by (covers stroke edges and the VAE's 8-pixel cells).",
                ),
                io.Int.Input(
                    "feather", default=8, min=0, max=256, tooltip="Width in pixels of the region's soft edge."
                ),
            ],
            outputs=[
                iv_types.Edit.Output(display_name="edit"),
                io.Mask.Output(display_name="mask"),
            ],
            hidden=[io.Hidden.unique_id],
        )

    @classmethod
    def execute(cls, vae, original, painted, threshold, grow, feather, mask=None) -> io.NodeOutput:
        _check_sizes(original, painted, mask)
        if mask is None:
            region = painted_region(original[..., :3], painted[..., :3], threshold, grow, feather)
        else:
            region = (mask if mask.ndim == 3 else mask.unsqueeze(0)).float().clamp(0.0, 1.0)
        if float(region.max()) == 0.0:
            show_text(
                cls.hidden.unique_id,
                "IV_PaintEncode: no painted region (the images do not differ above the threshold); the edit does "
                "nothing unless a flow moves it",
            )
        z0 = vae.encode(original[:, :, :, :3])
        z1 = vae.encode(painted[:, :, :, :3])
        edit = Edit(target=z1, mask=to_latent(region, z1.shape[-2], z1.shape[-1]), original=z0)
        return io.NodeOutput(edit, region)
