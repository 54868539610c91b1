"""The demo on the small Wan model (devkit/tiny_wan): a procedural scene, a curved drag of one object and a recolour
of another, rendered with and without the instructions through a real ComfyUI server, and measured with the
scene's ground truth.

The graph is ComfyUI's own Wan image-to-video graph (UNETLoader → ModelSamplingSD3, VAELoader, WanImageToVideo,
KSampler, VAEDecode) with the pack's nodes (Edit Canvas, Trajectory to Flow, Paint Encode, Image Align, Apply
Instructions) on the MODEL line; the text conditioning comes from the devkit's fixture node
``IVTest_WanTextEmbedding`` (umt5-xxl has 5.7 B parameters; the small model was trained to ignore text anyway).
The same seed renders the plain image-to-video beside it, so the report compares like with like.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from .clips import track_colour
from .tiny_wan import scenes
from .tiny_wan.config import SHIFT, SIZE


def demo_scene(index: int = 0):
    """The demo's scene: a held-out edit scene (``tiny_wan.scenes``) with a curved drag of 48 px."""
    return scenes.edit_scene(index, length=48.0, curved=True)


def prompt(scene_files: dict[str, str], dit: str, vae: str, frames: int, steps: int, seed: int) -> dict:
    """The API prompt: instructed and plain renders of the same seed, motion preview and flow colours."""
    size = SIZE

    def node(cls: str, title: str, **inputs) -> dict:
        return {"class_type": cls, "inputs": inputs, "_meta": {"title": title}}

    text = "IVTest_WanTextEmbedding"
    p = {
        "1": node("LoadImage", "Scene", image=scene_files["image"]),
        "2": node(
            "IV_TrajectoryEditor",
            "Edit canvas",
            tracks=scene_files["tracks"],
            frames=frames,
            reference=["1", 0],
            paint=scene_files["paint"],
        ),
        "3": node(
            "IV_TrajectoryToFlow",
            "Tracks to flow",
            width=size,
            height=size,
            interpolation="smooth",
            falloff=1.0,
            radius=0.0,
            tracks=["2", 0],
            size_from_image=["1", 0],
        ),
        "4": node("IV_MotionPreview", "Motion preview", image=["1", 0], flow=["3", 0]),
        "5": node(
            "SaveAnimatedWEBP",
            "Save motion preview",
            images=["4", 0],
            filename_prefix="demo/motion_preview",
            fps=8.0,
            lossless=True,
            quality=80,
            method="default",
        ),
        "6": node("SaveImage", "Save flow colours", images=["3", 2], filename_prefix="demo/flow"),
        "7": node("UNETLoader", "Load small Wan I2V", unet_name=dit, weight_dtype="default"),
        "8": node("ModelSamplingSD3", "Shift", model=["7", 0], shift=SHIFT),
        "9": node("VAELoader", "Load small Wan VAE", vae_name=vae),
        "10": node(text, "Text (stand-in)", text="objects move", length=512),
        "11": node(text, "Negative text (stand-in)", text="", length=512),
        "12": node(
            "WanImageToVideo",
            "Wan image to video",
            positive=["10", 0],
            negative=["11", 0],
            vae=["9", 0],
            width=size,
            height=size,
            length=frames,
            batch_size=1,
            start_image=["1", 0],
        ),
        "13": node(
            "IV_PaintEncode",
            "Paint to edit",
            vae=["9", 0],
            original=["1", 0],
            painted=["2", 1],
            mask=["2", 2],
            threshold=0.04,
            grow=8,
            feather=8,
        ),
        "14": node(
            "IV_ImageAlign",
            "Image alignment",
            vae=["9", 0],
            image=["1", 0],
            frames=frames,
            condition_frame=0,
            affinity="animation M",
            custom_affinity="1, 0.8, 0.7",
        ),
        "15": node(
            "IV_ApplyInstructions",
            "Apply instructions",
            model=["8", 0],
            paint=["13", 0],
            flow=["3", 0],
            align=["14", 0],
            moved=["24", 0],
            strength=1.0,
            start_percent=0.0,
            end_percent=0.8,
            curve="constant",
        ),
        # The drag's target as the VAE encodes the moved image, motion within each 4-frame latent group included.
        "24": node("VAEEncode", "Encode motion preview", pixels=["4", 0], vae=["9", 0]),
    }
    for offset, (model, label) in enumerate(((["15", 0], "with"), (["8", 0], "without"))):
        k = 16 + 4 * offset
        p[str(k)] = node(
            "KSampler",
            f"Sample ({label} instructions)",
            model=model,
            seed=seed,
            steps=steps,
            cfg=1.0,
            sampler_name="euler",
            scheduler="simple",
            positive=["12", 0],
            negative=["12", 1],
            latent_image=["12", 2],
            denoise=1.0,
        )
        p[str(k + 1)] = node("VAEDecode", f"Decode ({label})", samples=[str(k), 0], vae=["9", 0])
        p[str(k + 2)] = node(
            "SaveImage", f"Save frames ({label})", images=[str(k + 1), 0], filename_prefix=f"demo/frames_{label}"
        )
        p[str(k + 3)] = node(
            "SaveAnimatedWEBP",
            f"Save clip ({label})",
            images=[str(k + 1), 0],
            filename_prefix=f"demo/clip_{label}",
            fps=8.0,
            lossless=False,
            quality=90,
            method="default",
        )
    return p


@dataclass
class Measures:
    mean_distance: float  # px, tracked centre of the dragged object to the requested track, frames 1..
    final_distance: float
    found: float  # share of frames where the tracker found the dragged object
    paint_error: float  # /255, mean |colour − paint colour| inside the painted object over frames


def measure(frames: np.ndarray, scene: scenes.Scene) -> Measures:
    """frames [F, H, W, 3] in 0..1 against what was asked."""
    mean, final, found = scenes.trajectory_error(frames, scene, scene.clip.objects[scene.dragged].colour)
    return Measures(mean, final, found, scenes.paint_error(frames, scene, scene.painted))


def frame_strip(
    rows: dict[str, np.ndarray], scene: scenes.Scene, columns: tuple[int, ...] = (0, 4, 8, 12, 16), zoom: int = 2
) -> bytes:
    """A PNG: one row per render, ``columns`` frames each, with the requested track (white) and the tracked
    path of the dragged object up to that frame (yellow, where found) drawn on every frame."""
    obj = scene.clip.objects[scene.dragged]
    cell, pad, label_w = SIZE * zoom, 6, 120
    strip = Image.new("RGB", (label_w + len(columns) * (cell + pad), len(rows) * (cell + pad) + 20), (24, 24, 24))
    draw = ImageDraw.Draw(strip)
    for c, f in enumerate(columns):
        draw.text((label_w + c * (cell + pad) + 4, 4), f"frame {f}", fill=(220, 220, 220))
    for r, (name, frames) in enumerate(rows.items()):
        centres, _ = track_colour(frames, obj.colour)
        y0 = 20 + r * (cell + pad)
        draw.text((6, y0 + cell // 2 - 6), name, fill=(220, 220, 220))
        for c, f in enumerate(columns):
            if f >= len(frames):
                continue
            tile = Image.fromarray((frames[f] * 255).round().astype(np.uint8)).resize((cell, cell), Image.NEAREST)
            d = ImageDraw.Draw(tile)
            d.line([tuple(p * zoom) for p in scene.track], fill=(255, 255, 255), width=1)
            path = [tuple(p * zoom) for p in centres[: f + 1] if np.all(np.isfinite(p))]
            if len(path) > 1:
                d.line(path, fill=(255, 230, 0), width=2)
            if path:
                x, y = path[-1]
                d.ellipse([x - 3, y - 3, x + 3, y + 3], outline=(255, 230, 0))
            strip.paste(tile, (label_w + c * (cell + pad), y0))
    buf = io.BytesIO()
    strip.save(buf, format="PNG")
    return buf.getvalue()


def link_models(server) -> None:
    """The committed model files in the server's model folders, as a user's ComfyUI holds them."""
    from .tiny_wan import files

    for folder, src in (("diffusion_models", files.dit_file()), ("vae", files.vae_file())):
        link = server.base / "models" / folder / src.name
        if not link.exists():
            link.symlink_to(src)


@dataclass
class Rendered:
    frames: dict[str, np.ndarray]  # "with" / "without": [F, H, W, 3] in 0..1
    files: dict[str, bytes]  # what the demo writes, by file name
    prompt: dict
    history: dict


def render_on_server(
    server, scene: scenes.Scene, steps: int = 20, seed: int = 0, image_png: bytes | None = None, on_progress=None
) -> Rendered:
    """Upload the scene's image, tracks and paint layer as the canvas would, run the demo's prompt, fetch the
    results. ``server`` was started with ``fixture_nodes=True`` and ``link_models``."""
    from .pipeline import by_title
    from .tiny_wan import files
    from .tiny_wan.config import FRAMES

    names = {
        "image": server.upload_image(image_png or scenes.png(scene.image), "iv-demo-scene.png", overwrite=True)["name"],
        "tracks": scene.tracks_json(),
    }
    saved = server.upload_image(scene.paint_layer(), "iv-demo-paint.png", overwrite=True, subfolder="interactivevideo")
    names["paint"] = f"{saved['subfolder']}/{saved['name']}"
    p = prompt(names, files.dit_file().name, files.vae_file().name, FRAMES, steps, seed)
    history = server.run(p, timeout=1800, on_progress=on_progress)
    ids = by_title(p)

    def frames_of(node: str) -> np.ndarray:
        pngs = server.outputs(history, node)
        return np.stack([np.asarray(Image.open(io.BytesIO(b)).convert("RGB")) for b in pngs]) / 255.0

    frames = {label: frames_of(ids[f"Save frames ({label})"]) for label in ("with", "without")}
    out = {
        "video.webp": server.outputs(history, ids["Save clip (with)"])[0],
        "video_without_instructions.webp": server.outputs(history, ids["Save clip (without)"])[0],
        "motion_preview.webp": server.outputs(history, ids["Save motion preview"])[0],
        "flow_colours.png": server.outputs(history, ids["Save flow colours"])[0],
    }
    return Rendered(frames, out, p, history)
