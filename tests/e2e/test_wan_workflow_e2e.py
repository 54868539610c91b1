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
from comfyui_interactivevideo.devkit.server import ComfyServer
from comfyui_interactivevideo.devkit.workflow_specs import WAN_HIGH, WAN_LOW, WAN_VAE

pytestmark = pytest.mark.slow

NAME = "interactivevideo_wan_drag_and_paint"
FRAMES, SIZE, STEPS = 5, 64, 2


@pytest.fixture(scope="module")
def wan_server(tmp_path_factory):
    base = tmp_path_factory.mktemp("comfy-base-wan-workflow")
    srv = ComfyServer(base, fixture_nodes=True)
    models = base / "models"
    (models / "diffusion_models" / WAN_HIGH).symlink_to(wan.wan21_file(0, "i2v"))
    (models / "diffusion_models" / WAN_LOW).symlink_to(wan.wan21_file(1, "i2v"))
    (models / "vae" / WAN_VAE).symlink_to(wan.wan_vae_file())
    srv.start()
    yield srv
    srv.stop()


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
    prompt[nodes["Edit canvas"]]["inputs"]["paint"] = paint_layer
    if strength is not None:
        for title in ("Apply instructions (high noise)", "Apply instructions (low noise)"):
            prompt[nodes[title]]["inputs"]["strength"] = strength
    return prompt, nodes


def test_fit_shrinks_every_length_and_splits_the_steps():
    prompt, nodes = prepare("x.png")
    inputs = {title: prompt[nodes[title]]["inputs"] for title in nodes}
    assert inputs["Edit canvas"]["frames"] == inputs["Image alignment"]["frames"] == FRAMES
    assert inputs["Wan image to video"]["length"] == FRAMES
    assert (inputs["Wan image to video"]["width"], inputs["Wan image to video"]["height"]) == (SIZE, SIZE)
    assert (inputs["Resize"]["width"], inputs["Resize"]["height"]) == (SIZE, SIZE)
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


def test_shipped_wan_workflow_runs_and_writes_its_files(wan_server, shipped_video):
    assert len(shipped_video) == FRAMES
    assert "Traceback" not in wan_server.log_path.read_text(errors="replace")


def test_instructions_change_the_video(wan_server, paint, shipped_video):
    """Control: strength 0 on both Apply Instructions (the model alone) gives another video than the shipped
    strength."""
    off = run_video(wan_server, *prepare(paint, strength=0.0))
    diff = np.abs(np.stack(shipped_video).astype(int) - np.stack(off).astype(int)).mean()
    assert diff > 1.0, f"the instructions changed the video by only {diff:.3f} grey levels on average"
    assert "Traceback" not in wan_server.log_path.read_text(errors="replace")
