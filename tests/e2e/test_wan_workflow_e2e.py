"""The shipped Wan workflow (interactivevideo_wan_drag_and_paint) runs to completion on a real server and writes a
video of the frames and size asked for, its motion preview and flow colours; the instructions change the video.

The API prompt is the shipped one (workflows/api/), shrunk to 5 frames (Wan needs 1 + 4k) of 64×64 and 2 steps
split 1/1 between the high- and low-noise samplers. Models: a tiny random Wan 2.1-layout I2V DiT under both Wan 2.2
expert file names (a different seed each) and the real-size random Wan 2.1 VAE. The text encoder is replaced: the
CLIPLoader is removed and each CLIPTextEncode becomes the fixture node IVTest_WanTextEmbedding with the same text,
because the real umt5-xxl is 5.7 B parameters, too big for CI. Every other node and link is what users get.
"""

import numpy as np
import pytest

from comfyui_interactivevideo.devkit import pipeline, wan
from comfyui_interactivevideo.devkit.server import link
from comfyui_interactivevideo.devkit.workflow_specs import WAN_HIGH, WAN_LOW, WAN_VAE

pytestmark = pytest.mark.slow

NAME = "interactivevideo_wan_drag_and_paint"
FRAMES, SIZE, STEPS = 5, 64, 2


@pytest.fixture(scope="module")
def wan_server(server):
    """The shared server (with the fixture nodes), the workflow's model files linked in."""
    models = server.base / "models"
    link(models / "diffusion_models" / WAN_HIGH, wan.wan21_file(0, "i2v"))
    link(models / "diffusion_models" / WAN_LOW, wan.wan21_file(1, "i2v"))
    link(models / "vae" / WAN_VAE, wan.wan_vae_file())
    return server


@pytest.fixture(scope="module")
def log_mark(wan_server) -> int:
    """Where the shared server's log stood before this module's prompts."""
    return wan_server.log_mark()


@pytest.fixture(scope="module")
def paint(wan_server):
    """The sample image the workflow loads and a paint layer as the canvas would upload it (its input path)."""
    wan_server.upload_image(pipeline.sample_image(SIZE), "example.png", overwrite=True)
    saved = wan_server.upload_image(
        pipeline.sample_paint_layer(SIZE), "iv-paint-wan-e2e.png", overwrite=True, subfolder="interactivevideo"
    )
    return f"{saved['subfolder']}/{saved['name']}"


def without_text_encoder(prompt: dict) -> dict:
    """The prompt with the CLIPLoader removed and each CLIPTextEncode an IVTest_WanTextEmbedding of its text."""
    out = {}
    for node_id, node in prompt.items():
        if node["class_type"] == "CLIPLoader":
            continue
        if node["class_type"] == "CLIPTextEncode":
            node = {
                **node,
                "class_type": "IVTest_WanTextEmbedding",
                "inputs": {"text": node["inputs"]["text"], "length": wan.TEXT_LEN},
            }
        out[node_id] = node
    return out


def prepare(paint_layer: str, strength: float | None = None) -> tuple[dict, dict[str, str]]:
    prompt = without_text_encoder(pipeline.api_prompt(NAME))
    nodes = pipeline.by_title(prompt)
    pipeline.fit(prompt, nodes, FRAMES, SIZE, STEPS)
    pipeline.draw_sample_tracks(prompt, nodes)  # a drag as the user would draw it (the shipped canvas holds none)
    prompt[nodes["Edit canvas"]]["inputs"]["paint"] = paint_layer
    if strength is not None:
        for title in ("Apply instructions (high noise)", "Apply instructions (low noise)"):
            prompt[nodes[title]]["inputs"]["strength"] = strength
    return prompt, nodes


def test_fit_shrinks_every_length_and_splits_the_steps():
    prompt, nodes = prepare("x.png")
    inputs = {title: prompt[nodes[title]]["inputs"] for title in nodes}
    assert (inputs["Width"]["value"], inputs["Height"]["value"], inputs["Frames"]["value"]) == (SIZE, SIZE, FRAMES)
    # One place for the size and the length: every input that needs them is linked to those three nodes.
    frames, width, height = ([nodes[t], 0] for t in ("Frames", "Width", "Height"))
    assert inputs["Edit canvas"]["frames"] == inputs["Image alignment"]["frames"] == frames
    assert inputs["Wan image to video"]["length"] == frames
    assert inputs["Wan image to video"]["width"] == inputs["Resize"]["width"] == width
    assert inputs["Wan image to video"]["height"] == inputs["Resize"]["height"] == height
    high, low = inputs["Sample high noise"], inputs["Sample low noise"]
    assert (high["steps"], high["start_at_step"], high["end_at_step"]) == (STEPS, 0, 1)
    assert (low["steps"], low["start_at_step"]) == (STEPS, 1)
    assert not any(n["class_type"] in ("CLIPLoader", "CLIPTextEncode") for n in prompt.values())


def run_video(server, prompt: dict, nodes: dict[str, str]) -> list[np.ndarray]:
    history = server.run(prompt, timeout=1800)
    found = pipeline.check_outputs(server, history, nodes, FRAMES, SIZE)
    return pipeline.video_frames(found["video"])


@pytest.fixture(scope="module")
def shipped_video(wan_server, paint) -> list[np.ndarray]:
    """The shipped prompt's video (run once for the module; a second identical prompt would only hit the cache)."""
    return run_video(wan_server, *prepare(paint))


def test_shipped_wan_workflow_runs_and_writes_its_files(wan_server, log_mark, shipped_video):
    assert len(shipped_video) == FRAMES
    assert "Traceback" not in wan_server.log_since(log_mark)


def test_instructions_change_the_video(wan_server, log_mark, paint, shipped_video):
    """Control: strength 0 on both Apply Instructions (the model alone) gives another video than the shipped
    strength."""
    off = run_video(wan_server, *prepare(paint, strength=0.0))
    diff = np.abs(np.stack(shipped_video).astype(int) - np.stack(off).astype(int)).mean()
    assert diff > 1.0, f"the instructions changed the video by only {diff:.3f} grey levels on average"
    assert "Traceback" not in wan_server.log_since(log_mark)
