"""Running the shipped workflows headless: their API prompts found by node title, fitted to a run's size, frames
and steps, with generated default models and sample inputs. Used by scripts/demo.py and the e2e tests."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from . import sd15
from .paths import REPO, cached_weights

WORKFLOWS = REPO / "workflows"


def api_prompt(name: str) -> dict:
    return json.loads((WORKFLOWS / "api" / f"{name}.json").read_text())


def by_title(prompt: dict) -> dict[str, str]:
    """Node ids of an API prompt by their title (the shipped workflows title every node)."""
    return {node["_meta"]["title"]: node_id for node_id, node in prompt.items()}


def random_motion_module(fmt: str) -> Path:
    """A motion module in the published file's layout for ``fmt`` (every key and shape), random weights (cached)."""
    import torch

    from ..core.motion_module import sinusoidal_encoding
    from ..core.motion_weights import state_dict_shapes

    def build() -> dict:
        shapes = state_dict_shapes(fmt)
        meta = {k: torch.empty(s, device="meta") for k, s in shapes.items()}
        sd = sd15.fill_random_(meta, seed=5, dtype=torch.float16)
        for k, s in shapes.items():
            if k.endswith("pos_encoder.pe"):
                sd[k] = sinusoidal_encoding(s[1], s[2]).to(torch.float16)
        return sd

    return cached_weights(f"{fmt}-random-v{sd15.FORMAT_VERSION}.safetensors", build)


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


# The sample image's edit, as a user would draw it on the canvas: the red ball dragged right and up along a curve,
# the blue box anchored. Stated in 512 × 512 pixels; the nodes rescale it to the image they get.
SAMPLE_TRACKS = json.dumps(
    {
        "version": 1,
        "width": 512,
        "height": 512,
        "tracks": [
            {"points": [[256, 300], [330, 260], [400, 250]], "radius": 56},
            {"points": [[64, 448]], "radius": 48, "anchor": True},
        ],
    }
)


def _set(inputs: dict, name: str, value) -> None:
    """Set a widget value, unless the shipped graph links that input to another node (a Width/Frames node)."""
    if name in inputs and not isinstance(inputs[name], list):
        inputs[name] = value


def fit(prompt: dict, nodes: dict[str, str], frames: int, size: int, steps: int) -> None:
    """Set every frame count, image size and step count of a shipped prompt (in place), by node titles: the
    workflow's Width, Height and Frames nodes, and any such widget not linked to them (prompts of earlier releases).

    Wan: ``frames`` must be 1 + 4k (the editor's and Image Align's ``frames`` and WanImageToVideo's ``length``
    all get it); the two-stage samplers split ``steps`` in half (high noise: 0 → steps//2, low: steps//2 → end)."""
    for title, value in (("Width", size), ("Height", size), ("Frames", frames)):
        if title in nodes:
            prompt[nodes[title]]["inputs"]["value"] = value
    for node in prompt.values():
        _set(node["inputs"], "frames", frames)
    for title in ("Image size", "Resize to 512", "Resize", "Video size and frames", "Wan image to video"):
        if title in nodes:
            for name in ("width", "height"):
                _set(prompt[nodes[title]]["inputs"], name, size)
    if "Video size and frames" in nodes:
        _set(prompt[nodes["Video size and frames"]]["inputs"], "batch_size", frames)
    if "Wan image to video" in nodes:
        _set(prompt[nodes["Wan image to video"]]["inputs"], "length", frames)
    titles = ("Intermediate image sampler", "Content re-render", "Schedule", "Sample video")
    for title in (*titles, "Sample high noise", "Sample low noise"):
        if title in nodes and "steps" in prompt[nodes[title]]["inputs"]:
            prompt[nodes[title]]["inputs"]["steps"] = steps
    if "Sample high noise" in nodes:
        prompt[nodes["Sample high noise"]]["inputs"]["end_at_step"] = steps // 2
        prompt[nodes["Sample low noise"]]["inputs"]["start_at_step"] = steps // 2


def draw_sample_tracks(prompt: dict, nodes: dict[str, str]) -> None:
    """Put SAMPLE_TRACKS on the prompt's edit canvas (the shipped workflows come with none)."""
    prompt[nodes["Edit canvas"]]["inputs"]["tracks"] = SAMPLE_TRACKS


def frames_of_video(data: bytes) -> tuple[int, tuple[int, int]]:
    """(frame count, (width, height)) of a video file."""
    frames = video_frames(data)
    return len(frames), (frames[0].shape[1], frames[0].shape[0])


def video_frames(data: bytes) -> list[np.ndarray]:
    """The frames of a video file as RGB arrays [H, W, 3]."""
    import av

    with av.open(io.BytesIO(data)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def check_outputs(server, history: dict, nodes: dict[str, str], frames: int, size: int) -> dict[str, object]:
    """Assert that a shipped workflow's run saved its video (``frames`` of ``size``²) and, where the workflow has
    them, the motion preview and flow colours showing motion; returns the files found."""
    found = {}
    (video,) = server.outputs(history, nodes["Save video"])
    assert frames_of_video(video) == (frames, (size, size))
    found["video"] = video
    if "Save motion preview" in nodes:
        (webp,) = server.outputs(history, nodes["Save motion preview"])
        anim = Image.open(io.BytesIO(webp))
        assert (anim.n_frames, anim.size) == (frames, (size, size))
        colours = server.outputs(history, nodes["Save flow colours"])
        assert len(colours) == frames
        assert all(Image.open(io.BytesIO(c)).size == (size, size) for c in colours)
        last = np.asarray(Image.open(io.BytesIO(colours[-1])).convert("RGB")).astype(int)
        assert (255 - last).max() > 40, "the last frame's flow colours show no motion"
        found.update(preview=webp, colours=colours)
    return found
