"""Each shipped workflow runs to completion on a real server with random-weight models, and every file it writes
has the frames and size asked for.

The API prompts are the shipped ones (workflows/api/), shrunk to 4 frames of 64×64 and one step per sampler so
that the full-size SD1.5 UNet runs in minutes on a CPU (what the step count changes is tested where it matters:
tests/e2e/test_guider_e2e.py, the page's full pipeline); the graph, the nodes and every link are exactly what
users get.
"""

import json
from pathlib import Path

import pytest

from comfyui_interactivevideo.devkit import pipeline, sd15
from comfyui_interactivevideo.devkit.server import link

pytestmark = pytest.mark.slow

FRAMES, SIZE, STEPS = 4, 64, 1


@pytest.fixture(scope="module")
def models(server):
    """The model files the workflows name, as random-weight files of the real formats."""
    folder = server.base / "models"
    link(folder / "checkpoints" / "v1-5-pruned-emaonly.safetensors", sd15.checkpoint_file())
    link(folder / "animatediff_models" / "pia.safetensors", pipeline.random_motion_module("pia"))
    link(folder / "animatediff_models" / "v3_sd15_mm.safetensors", pipeline.random_motion_module("v3"))


@pytest.fixture(scope="module")
def inputs(server):
    """The sample image the workflows load and a paint layer as the canvas would upload it."""
    server.upload_image(pipeline.sample_image(SIZE), "example.png", overwrite=True)
    saved = server.upload_image(
        pipeline.sample_paint_layer(SIZE), "iv-paint-e2e.png", overwrite=True, subfolder="interactivevideo"
    )
    return {"paint": f"{saved['subfolder']}/{saved['name']}"}


LEGACY = Path(__file__).resolve().parents[1] / "data" / "legacy_workflows"


def prepare(name: str, inputs: dict) -> tuple[dict, dict[str, str]]:
    """A shipped API prompt, or ``legacy/NAME``: one saved by an earlier release (IV_ResidualBlendGuider and
    IV_PaintEncode as they were wired then), which must keep working."""
    if name.startswith("legacy/"):
        prompt = json.loads((LEGACY / "api" / f"{name.split('/', 1)[1]}.json").read_text())
    else:
        prompt = pipeline.api_prompt(name)
    nodes = pipeline.by_title(prompt)
    pipeline.fit(prompt, nodes, FRAMES, SIZE, STEPS)
    if "Tracks to flow" in nodes:  # a drag as the user would draw it (the shipped canvas holds none)
        pipeline.draw_sample_tracks(prompt, nodes)
    for node in prompt.values():  # the files this server holds (same formats, .safetensors)
        if node["class_type"] == "IV_LoadMotionModule":
            node["inputs"]["motion_module"] = node["inputs"]["motion_module"].replace(".ckpt", ".safetensors")
    if "Paint to edit" in nodes:  # the workflows that paint: strokes as the canvas would have uploaded them
        prompt[nodes["Edit canvas"]]["inputs"]["paint"] = inputs["paint"]
    return prompt, nodes


@pytest.mark.parametrize(
    "name",
    [
        "interactivevideo_full_pipeline",
        "interactivevideo_animate_image",
        "interactivevideo_paint_edit_clip",
        "legacy/interactivevideo_full_pipeline",
        "legacy/interactivevideo_paint_edit_clip",
    ],
)
def test_shipped_workflow_runs_and_writes_its_files(server, models, inputs, name):
    prompt, nodes = prepare(name, inputs)
    history = server.run(prompt, timeout=1800)
    pipeline.check_outputs(server, history, nodes, FRAMES, SIZE)
