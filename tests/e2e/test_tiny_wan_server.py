"""With the defaults, the instructions land on a model that has learned motion: the small Wan model trained here
(devkit/tiny_wan), the demo's graph (core UNETLoader, VAELoader, WanImageToVideo, ModelSamplingSD3, KSampler and
the pack's Edit Canvas, Trajectory to Flow, Motion Preview, Paint Encode, Image Align, Apply Instructions) on a real ComfyUI
server, three held-out scenes. Each render is measured against the user's request with the scene's ground truth
(a colour tracker); the same seed rendered without the instructions is the control that must miss."""

import pytest

from comfyui_interactivevideo.devkit import demo_wan
from comfyui_interactivevideo.devkit.tiny_wan import scenes
from comfyui_interactivevideo.devkit.tiny_wan.config import SIZE

# The semantic benchmark's targets for the defaults (bench/bench_semantics.py, issue 19).
MEAN_TRACK_ERROR = 0.02 * SIZE  # px
FINAL_TRACK_ERROR = 0.03 * SIZE
PAINT_ERROR = 10.0  # /255, inside the recoloured object over all frames


@pytest.fixture(scope="module")
def tiny_wan_server(server):
    demo_wan.link_models(server)
    return server


@pytest.fixture(scope="module")
def measured(tiny_wan_server):
    """Scene index → (with, without) measures; each scene rendered once for both tests."""
    cache = {}

    def get(index: int):
        if index not in cache:
            scene = scenes.edit_scene(index, length=40.0)
            result = demo_wan.render_on_server(tiny_wan_server, scene, steps=20, seed=index)
            assert result.frames["with"].shape == (17, SIZE, SIZE, 3)
            cache[index] = tuple(demo_wan.measure(result.frames[k], scene) for k in ("with", "without"))
        return cache[index]

    return get


@pytest.mark.parametrize("index", [1, 2, 3])
def test_defaults_drag_lands_and_paint_holds(measured, index):
    with_, without = measured(index)
    assert with_.found == 1.0, "the dragged object was lost in some frames"
    assert with_.mean_distance <= MEAN_TRACK_ERROR, (with_, without)
    assert with_.paint_error <= PAINT_ERROR, (with_, without)
    # Control: the model alone, same seed, does not do what was asked.
    assert without.mean_distance >= 3 * with_.mean_distance, (with_, without)
    assert without.paint_error >= 3 * with_.paint_error, (with_, without)


@pytest.mark.parametrize("index", [1, 2, 3])
def test_defaults_last_frame_reaches_the_end_of_the_track(measured, index):
    """The demo's graph gives Apply Instructions 'moved' (Motion Preview through VAE Encode): the last frame reaches
    the track's end. With the image moved in the latent instead it lagged (on the previous model file): 3.95, 4.29,
    4.21 px against 3.84 (a latent frame holds 4 pixel frames and showed them all at their mean place)."""
    with_, without = measured(index)
    assert with_.final_distance <= FINAL_TRACK_ERROR, (with_, without)
    assert without.final_distance >= 3 * with_.final_distance, (with_, without)
