"""The note in each shipped workflow: written for that workflow alone (its models, its steps, its settings), in
Markdown (ComfyUI's MarkdownNote). The README's quick start says the same at more length; the model file names
come from the workflow specs, so a note cannot name a file its workflow does not load."""

from __future__ import annotations

HF = "https://huggingface.co"
SD15_URL = f"{HF}/stable-diffusion-v1-5/stable-diffusion-v1-5/resolve/main/v1-5-pruned-emaonly.safetensors"
PIA_URL = f"{HF}/Leoxing/PIA/resolve/main/pia.ckpt"
V3_URL = f"{HF}/guoyww/animatediff/resolve/main/v3_sd15_mm.ckpt"
WAN22 = f"{HF}/Comfy-Org/Wan_2.2_ComfyUI_Repackaged/resolve/main/split_files"
WAN21 = f"{HF}/Comfy-Org/Wan_2.1_ComfyUI_repackaged/resolve/main/split_files"

RUN_SELECTED = "press ▶ in the toolbar above the selection (*Execute to selected output nodes*)"
TURN = "Too still, drag too weak, paint not showing, flicker, out of memory: the README's *What to turn* table."


def _models(rows: list[tuple[str, str, str]]) -> str:
    return "\n".join(f"- `models/{folder}/`: [{name}]({url})" for folder, name, url in rows)


def full_pipeline(checkpoint: str, pia: str) -> str:
    return f"""## Text → image → your edits → PIA video

### Models

{_models([("checkpoints", checkpoint, SD15_URL), ("animatediff_models", pia, PIA_URL)])}

Any SD1.5 checkpoint works. The motion module must be PIA: this workflow feeds PIA's image channels, which
AnimateDiff v2/v3 modules do not have.

### First run: the image only

1. Write the *Image prompt*; *Width*, *Height* and *Frames* (16; PIA stays within 32) are the only size settings.
2. Select **Edit canvas** and {RUN_SELECTED}: only the image is made, and it appears on the canvas.

### Edit, then the video

3. On the canvas, *Tracks*: drag a region along a path, click to pin an anchor. *Paint*: brush over the image.
4. *Content prompt*: what your paint becomes. *Motion prompt*: how the clip moves.
5. **Run**: the video renders, steered by your edits (the image is not made again while its settings stay).

{TURN}"""


def animate_image(checkpoint: str, pia: str) -> str:
    return f"""## Animate your image along a drag (PIA)

### Models

{_models([("checkpoints", checkpoint, SD15_URL), ("animatediff_models", pia, PIA_URL)])}

Any SD1.5 checkpoint works. The motion module must be PIA (this workflow conditions PIA's image channels).

### Use it

1. *Your image*: pick or upload a picture. The canvas shows it at once, resized to *Width* × *Height*.
2. *Frames* is the clip length (16; PIA stays within 32).
3. On the canvas, drag a region along a path (click pins an anchor). Several tracks move several things.
4. *Motion prompt*: how the clip moves.
5. **Run**: the video follows your drag; *Motion preview* shows the drag alone, in a second.

No paint here: the paint-edit workflow re-renders painted areas.
{TURN}"""


def paint_edit_clip(checkpoint: str, motion: str) -> str:
    return f"""## Paint on your image, get a clip that shows it (AnimateDiff v3)

### Models

{_models([("checkpoints", checkpoint, SD15_URL), ("animatediff_models", motion, V3_URL)])}

Any SD1.5 checkpoint works; the motion module is AnimateDiff v3 (`mm_sd_v15_v2.ckpt` works too). Not PIA: PIA
needs the PIA workflows' conditioning.

### Use it

1. *Your image*: pick or upload a picture. The canvas shows it at once, resized to *Width* × *Height*.
2. *Frames* is the clip length (16 is what the module learned; longer needs context windows).
3. On the canvas, switch to *Paint* and brush what should change.
4. *Content prompt*: what your paint becomes (the content step re-renders the painted area with it first).
   *Motion prompt*: how the clip moves.
5. **Run**: every frame shows the paint, tied to your edited image.

No drag here: the animate and full-pipeline workflows take tracks.
{TURN}"""


def wan_drag_and_paint(high: str, low: str, text_encoder: str, vae: str) -> str:
    rows = [
        ("diffusion_models", high, f"{WAN22}/diffusion_models/{high}"),
        ("diffusion_models", low, f"{WAN22}/diffusion_models/{low}"),
        ("text_encoders", text_encoder, f"{WAN21}/text_encoders/{text_encoder}"),
        ("vae", vae, f"{WAN22}/vae/{vae}"),
    ]
    return f"""## Wan 2.2 image to video: drag and paint your image

### Models (Comfy-Org's repackaged files)

{_models(rows)}

### Use it

1. *Your image*: pick or upload a picture. The canvas shows it at once, resized to *Width* × *Height* (multiples
   of 16: 832 × 480 is 480p, 1280 × 720 is 720p).
2. *Frames*: 81 is 5 s at 16 fps; any 4k + 1.
3. On the canvas, *Tracks*: drag regions along paths, click to pin anchors. *Paint*: brush what should change.
4. *Motion prompt*: how the clip moves.
5. **Run**: two experts, 10 + 10 of 20 steps.

*Encode motion preview* gives both *Apply instructions* the drag's target as the VAE encodes it (`moved`): a
latent frame holds 4 frames, and without it the dragged thing ends about 3 % of the width short of the track's end.
*Image alignment* ties the clip to your picture with `free_motion` *keep*: what you did not drag or paint moves as
the model moves it; *hold* freezes it to the picture (PIA's way).
Both *Apply instructions* nodes must carry the same settings. `end_percent` is 0.6 (σ 0.4): under shift 8 the
default 0.8 would instruct all 20 steps and end the video on a blend of model and target; 0.6 leaves the last
step to the model.
Wan 2.1, Wan 2.2 5B and the 4-step LoRAs: the README's Wan quick start.
{TURN}"""
