"""IV_PaintEncode: the paint instruction as an ``IV_PAINT`` (painted z₀′, original z₀, region at latent size)."""

from __future__ import annotations

import torch
from comfy_api.latest import io

from ..core.instructions import Paint
from ..core.mask import painted_region, region_from_mask, to_latent
from . import iv_types
from .checks import checked
from .comfy_internals import encode_codes, show_text


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
                "Turns a painting into the paint instruction (IV_PAINT) for Apply Instructions (IV) or the guider: "
                "encodes the original and the painted image with the VAE (raw latents z₀, z₀′) and finds the "
                "painted region. With a mask (the canvas's paint_mask) the region is where the mask exceeds "
                "'threshold'; without one, where the images differ by more than 'threshold' (specks removed). "
                "Either way it is grown by 'grow' pixels and feathered by 'feather', and a latent cell counts as "
                "much as the most-painted pixel in it, so a thin stroke still covers its cells. The region is 1 "
                "wherever there is paint: the painted image already carries the stroke's opacity, which therefore "
                "applies once. Images must be the same size: nothing is cropped or resized silently. With a video "
                "VAE (Wan) each image is encoded as a 9-frame still, whose codes stand for it in every latent frame."
            ),
            inputs=[
                io.Vae.Input(
                    "vae",
                    tooltip="The VAE of the model that will sample the video (SD1.5's, or Wan's video VAE).",
                ),
                io.Image.Input("original", tooltip="The intermediate image before editing (one image)."),
                io.Image.Input(
                    "painted",
                    tooltip="The same image with the user's paint (one image, or one per frame), same size as original.",
                ),
                io.Mask.Input(
                    "mask",
                    optional=True,
                    tooltip="Where paint covers the image (the canvas's paint_mask, or any MASK). Leave empty to "
                    "detect the region from the difference between the images.",
                ),
                io.Float.Input(
                    "threshold",
                    default=0.04,
                    min=0.0,
                    max=1.0,
                    step=0.005,
                    tooltip="With a mask: the smallest mask value that counts as painted. Without: the smallest "
                    "per-channel change (0-1) between the images that counts as paint.",
                ),
                io.Int.Input(
                    "grow",
                    default=8,
                    min=0,
                    max=256,
                    tooltip="Pixels to dilate the region by (covers stroke edges and the VAE's 8-pixel cells).",
                ),
                io.Int.Input(
                    "feather", default=8, min=0, max=256, tooltip="Width in pixels of the region's soft edge."
                ),
            ],
            outputs=[
                iv_types.Paint.Output(display_name="paint", tooltip="The paint instruction (IV_PAINT)."),
                io.Mask.Output(display_name="mask", tooltip="The region, in pixels (for a preview)."),
            ],
            hidden=[io.Hidden.unique_id],
        )

    @classmethod
    @checked
    def execute(cls, vae, original, painted, threshold, grow, feather, mask=None) -> io.NodeOutput:
        _check_sizes(original, painted, mask)
        if mask is None:
            region = painted_region(original[..., :3], painted[..., :3], threshold, grow, feather)
        else:
            region = region_from_mask(mask, threshold, grow, feather)
        if float(region.max()) == 0.0:
            show_text(
                cls.hidden.unique_id,
                "IV_PaintEncode: no painted region (nothing above the threshold), so this paint instruction does "
                "nothing. A drag needs no paint: connect the image's latent to 'image' of Apply Instructions (IV).",
            )
        z0 = encode_codes(vae, original[:, :, :, :3])
        same = painted.shape[0] == 1 and torch.equal(painted[..., :3], original[..., :3])
        z1 = z0 if same else encode_codes(vae, painted[:, :, :, :3])
        paint = Paint(original=z0, painted=z1, region=to_latent(region, z1.shape[-2], z1.shape[-1]))
        return io.NodeOutput(paint, region)
