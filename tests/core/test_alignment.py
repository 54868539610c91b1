"""PIA-style per-frame affinity: the presets as PIA publishes them, against diffusers' PIA code's own lists."""

import importlib
import json
from pathlib import Path

import pytest
import torch

from comfyui_interactivevideo.core.alignment import (
    AFFINITY_PRESETS,
    frame_affinity,
    parse_affinity_values,
    preset_affinity,
)

# diffusers' prepare_mask_coef_by_statistics for every case below, vendored (tests/data/pia_affinity.json says from
# which version): the presets' one independent check runs whatever diffusers is installed.
REFERENCE = json.loads((Path(__file__).resolve().parents[1] / "data" / "pia_affinity.json").read_text())
PIA_MODULE = "diffusers.pipelines.deprecated.pia.pipeline_pia"


def pia(frames: int, cond_frame: int, index: int) -> list[float]:
    for case in REFERENCE["cases"]:
        if (case["num_frames"], case["cond_frame"], case["motion_scale"]) == (frames, cond_frame, index):
            return case["coef"]
    raise KeyError(f"no vendored PIA list for {(frames, cond_frame, index)}: add it to tests/data/pia_affinity.json")


@pytest.mark.parametrize("index,preset", [(0, "animation S"), (1, "animation M"), (2, "animation L")])
@pytest.mark.parametrize("frames,cond_frame", [(16, 0), (16, 7), (24, 15), (3, 1)])
def test_animation_presets_match_pia(index, preset, frames, cond_frame):
    assert preset_affinity(frames, cond_frame, preset).tolist() == pytest.approx(pia(frames, cond_frame, index))


@pytest.mark.parametrize("index,preset", [(6, "style transfer S"), (7, "style transfer M"), (8, "style transfer L")])
def test_style_transfer_presets_match_pia(index, preset):
    assert preset_affinity(16, 0, preset).tolist() == pytest.approx(pia(16, 0, index))


@pytest.mark.parametrize("index,preset", [(3, "loop S"), (4, "loop M"), (5, "loop L")])
def test_loop_presets_mirror_over_the_second_half_as_pia_does(index, preset):
    # diffusers spells PIA's loop lists out for 16 frames; ours are the half list mirrored. PIA's hand-written
    # S and M lists are not exact mirrors at a few entries (a value repeated once less on the way back); everywhere else they agree.
    ours = preset_affinity(16, 0, preset).tolist()
    theirs = pia(16, 0, index)
    asymmetric = {i for i in range(16) if theirs[i] != theirs[15 - i]}
    assert len(asymmetric) <= 6
    assert [v for i, v in enumerate(ours) if i not in asymmetric] == pytest.approx(
        [v for i, v in enumerate(theirs) if i not in asymmetric]
    )
    if preset == "loop L":
        assert ours == pytest.approx(theirs)


def test_the_vendored_lists_are_diffusers_own():
    """The installed diffusers (a test requirement) recomputes every vendored list. Should a diffusers release drop
    its deprecated PIA pipeline, this fails (never skips): pin diffusers below that release in
    tests/requirements.txt, or remove this test, keeping the vendored lists."""
    try:
        module = importlib.import_module(PIA_MODULE)
    except ImportError as e:
        pytest.fail(f"the installed diffusers has no {PIA_MODULE} ({e}); see this test's docstring")
    for case in REFERENCE["cases"]:
        args = (case["num_frames"], case["cond_frame"], case["motion_scale"])
        assert module.prepare_mask_coef_by_statistics(*args) == case["coef"], args


def test_loop_returns_to_the_image_at_the_end():
    w = preset_affinity(16, 0, "loop M")
    assert w.tolist() == w.flip(0).tolist()  # a palindrome: the last frame is as tied as the first
    assert w[-1] == 1.0 and w[0] == 1.0 and w[8] == 0.75


def test_frame_i_gets_the_value_at_its_distance_and_the_last_value_repeats():
    w = frame_affinity(8, 3, [1.0, 0.5, 0.25])
    assert w.tolist() == [0.25, 0.25, 0.5, 1.0, 0.5, 0.25, 0.25, 0.25]
    assert w.dtype == torch.float32 and w.shape == (8,)


def test_custom_list():
    assert preset_affinity(4, 0, "custom", "1, 0.6 0.3").tolist() == pytest.approx([1.0, 0.6, 0.3, 0.3])
    assert parse_affinity_values("0.5;0.2") == (0.5, 0.2)


@pytest.mark.parametrize("text", ["", "1, x", "1, 1.5", "-0.1"])
def test_bad_custom_lists_are_refused_with_an_example(text):
    with pytest.raises(ValueError, match="custom affinity"):
        preset_affinity(4, 0, "custom", text)


def test_condition_frame_outside_the_clip_is_refused():
    with pytest.raises(ValueError, match="condition frame 16 is outside"):
        preset_affinity(16, 16, "animation S")
    with pytest.raises(ValueError, match="unknown affinity preset"):
        preset_affinity(16, 0, "animation XL")


def test_every_preset_is_known_and_starts_at_its_peak():
    assert len(AFFINITY_PRESETS) == 9
    for values in AFFINITY_PRESETS.values():
        assert values[0] == max(values)
