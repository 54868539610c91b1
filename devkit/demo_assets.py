"""What the demo needs besides the workflow: default models, a sample image and paint layer, and the edits to
the shipped workflow's API prompt (size, frames, steps, the given image)."""

from __future__ import annotations

import json
from pathlib import Path

from . import sd15
from .pipeline import by_title, draw_sample_tracks, fit, random_motion_module, sample_image, sample_paint_layer

__all__ = ["by_title", "sample_image"]

PAINT_LAYER = "interactivevideo/iv-paint-demo.png"


def random_checkpoint() -> Path:
    """A full-size SD1.5-architecture checkpoint with random weights (fp16 safetensors, cached)."""
    return sd15.checkpoint_file()


def random_pia_module() -> Path:
    return random_motion_module("pia")


def configure(
    prompt: dict, nodes: dict[str, str], server, frames: int, size: int, steps: int, image: bytes | None
) -> None:
    """Fit the shipped full-pipeline prompt to this run (in place), with the sample edit drawn on its canvas."""
    fit(prompt, nodes, frames, size, steps)
    draw_sample_tracks(prompt, nodes)
    # The canvas's paint layer lives in the input folder, as when a user paints.
    saved = server.upload_image(
        sample_paint_layer(size), Path(PAINT_LAYER).name, overwrite=True, subfolder=str(Path(PAINT_LAYER).parent)
    )
    prompt[nodes["Edit canvas"]]["inputs"]["paint"] = f"{saved['subfolder']}/{saved['name']}"
    if image is None:
        return
    # A given intermediate image replaces the text-to-image stage.
    name = server.upload_image(image, "iv-demo-intermediate.png", overwrite=True)["name"]
    decoded = nodes["Decode intermediate image"]
    prompt["given"] = {"class_type": "LoadImage", "inputs": {"image": name}, "_meta": {"title": "Given image"}}
    prompt["given_resized"] = {
        "class_type": "ImageScale",
        "inputs": {"image": ["given", 0], "upscale_method": "lanczos", "width": size, "height": size, "crop": "center"},
        "_meta": {"title": "Given image, resized"},
    }
    for node in prompt.values():
        for key, value in node["inputs"].items():
            if value == [decoded, 0]:
                node["inputs"][key] = ["given_resized", 0]
    for title in ("Intermediate image sampler", "Decode intermediate image", "Image size"):
        del prompt[nodes.pop(title)]
    nodes["Given image"] = "given"


def collect(server, history: dict, nodes: dict[str, str], out: Path) -> dict[str, Path]:
    """Fetch the pipeline's files over /view into ``out`` under plain names."""
    wanted = {
        "video": ("Save video", "images"),
        "motion preview": ("Save motion preview", "images"),
        "flow colours": ("Save flow colours", "images"),
    }
    files = {}
    for label, (title, kind) in wanted.items():
        entries = history["outputs"].get(nodes[title], {}).get(kind, [])
        if not entries:
            raise RuntimeError(f"'{title}' wrote no file: {json.dumps(history['outputs'].get(nodes[title]))}")
        # Flow colours: one picture per frame; the last shows the whole drag (frame 0's flow is zero, white).
        chosen = entries[-1] if label == "flow colours" else entries[0]
        target = out / f"{label.replace(' ', '_')}{Path(chosen['filename']).suffix}"
        target.write_bytes(server.view(chosen))
        files[label] = target
    return files
