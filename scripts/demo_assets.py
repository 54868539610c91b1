"""What the demo needs besides the workflow: default models, a sample image and paint layer, and the edits to
the shipped workflow's API prompt (size, frames, steps, the given image)."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from ivtest import sd15
from ivtest.paths import cache_dir

PAINT_LAYER = "interactivevideo/iv-paint-demo.png"


def random_checkpoint() -> Path:
    """A full-size SD1.5-architecture checkpoint with random weights (fp16 safetensors, cached)."""
    return sd15.checkpoint_file()


def random_pia_module() -> Path:
    """A PIA motion module in the published file's layout (every key and shape), random weights (cached)."""
    import torch
    from safetensors.torch import save_file

    from core.motion_module import sinusoidal_encoding, state_dict_shapes

    path = cache_dir() / f"pia-random-v{sd15.FORMAT_VERSION}.safetensors"
    if path.exists():
        return path
    shapes = state_dict_shapes("pia")
    sd = sd15.fill_random_({k: torch.empty(s, device="meta") for k, s in shapes.items()}, seed=5, dtype=torch.float16)
    for k, s in shapes.items():
        if k.endswith("pos_encoder.pe"):
            sd[k] = sinusoidal_encoding(s[1], s[2]).to(torch.float16)
    tmp = path.with_suffix(".partial")
    save_file({k: v.contiguous() for k, v in sd.items()}, str(tmp), metadata={"comment": "random weights for the demo"})
    tmp.replace(path)
    return path


def sample_image(size: int) -> bytes:
    """A PNG intermediate image with something to drag: a red ball on a meadow under a sky, a blue box."""
    y = np.linspace(0, 1, size)[:, None, None]
    sky = np.array([0.45, 0.65, 0.95]) * (1 - y) + np.array([0.85, 0.9, 1.0]) * y
    ground = np.array([0.3, 0.6, 0.25]) * (1.2 - 0.4 * y)
    rgb = np.where(y < 0.55, sky, ground) * np.ones((1, size, 1))
    img = Image.fromarray((rgb.clip(0, 1) * 255).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    s = size / 512
    draw.ellipse([256 * s - 50 * s, 300 * s - 50 * s, 256 * s + 50 * s, 300 * s + 50 * s], fill=(220, 40, 40))
    draw.rectangle([30 * s, 410 * s, 100 * s, 480 * s], fill=(40, 60, 200))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def sample_paint_layer(size: int) -> bytes:
    """A PNG paint layer (RGBA): a yellow sun painted into the sky, as a user would on the canvas."""
    layer = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    cx, cy, r = 0.78 * size, 0.2 * size, 0.09 * size
    draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=(255, 210, 40, 255))
    for k in range(8):
        a = k * math.pi / 4
        draw.line(
            [
                cx + 1.3 * r * math.cos(a),
                cy + 1.3 * r * math.sin(a),
                cx + 1.8 * r * math.cos(a),
                cy + 1.8 * r * math.sin(a),
            ],
            fill=(255, 210, 40, 255),
            width=max(2, size // 64),
        )
    buf = io.BytesIO()
    layer.save(buf, format="PNG")
    return buf.getvalue()


def _set_all(prompt: dict, name: str, value) -> None:
    for node in prompt.values():
        if name in node["inputs"] and not isinstance(node["inputs"][name], list):
            node["inputs"][name] = value


def configure(
    prompt: dict, nodes: dict[str, str], server, frames: int, size: int, steps: int, image: bytes | None
) -> None:
    """Fit the shipped full-pipeline prompt to this run (in place)."""
    _set_all(prompt, "frames", frames)
    _set_all(prompt, "frame_count", frames)
    prompt[nodes["Image size"]]["inputs"].update(width=size, height=size)
    prompt[nodes["Intermediate image sampler"]]["inputs"]["steps"] = steps
    prompt[nodes["Schedule"]]["inputs"]["steps"] = steps
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
