"""The trajectory nodes in a booted ComfyUI: editor JSON -> IV_TRACKS -> IV_FLOW -> warped preview frames."""

import json
import logging
import os

import pytest
import torch

import nodes as comfy_nodes
from comfyui_interactivevideo.core.flow import Flow
from comfyui_interactivevideo.core.trajectory import TrackError, Tracks

H, W = 96, 128


def picture() -> torch.Tensor:
    """A grey IMAGE [1, H, W, 3] with a red disk of radius 10 at (30, 48)."""
    ys, xs = torch.meshgrid(torch.arange(H) + 0.5, torch.arange(W) + 0.5, indexing="ij")
    img = torch.full((1, H, W, 3), 0.5)
    img[0][((xs - 30) ** 2 + (ys - 48) ** 2) < 100] = torch.tensor([1.0, 0.0, 0.0])
    return img


def red_centroid(frame: torch.Tensor) -> torch.Tensor:
    ys, xs = torch.meshgrid(torch.arange(H) + 0.5, torch.arange(W) + 0.5, indexing="ij")
    red = (frame[..., 0] - frame[..., 1]).clamp(min=0)
    return torch.stack(((red * xs).sum(), (red * ys).sum())) / red.sum()


def test_editor_reads_hand_typed_json_and_takes_the_reference_size(run_node):
    text = json.dumps({"version": 1, "tracks": [{"points": [[30, 48], [100, 48]], "radius": 10}]})
    out = run_node("IV_TrajectoryEditor", tracks=text, frames=6, reference=picture())
    tracks, painted, paint_mask = out.result[:3]
    assert isinstance(tracks, Tracks)
    assert torch.equal(painted, picture()) and paint_mask.shape == (1, H, W) and not paint_mask.any()
    assert (tracks.width, tracks.height, tracks.frame_count, len(tracks)) == (W, H, 6, 1)
    images = out.ui.as_dict()["images"]
    assert len(images) == 1 and images[0]["type"] == "temp"  # the editor shows the reference after a run


def test_editor_accepts_the_other_dialects_and_names_bad_tracks(run_node):
    tracks, *_ = run_node("IV_TrajectoryEditor", tracks='[[{"x": 1, "y": 2}, {"x": 5, "y": 2}]]', frames=2).result
    assert len(tracks) == 1 and tracks.width is None
    with pytest.raises(TrackError, match="track 1: has no points"):
        run_node("IV_TrajectoryEditor", tracks="[[[1, 2]], []]", frames=2)


def test_editor_warns_about_points_outside_the_picture(run_node, caplog):
    text = json.dumps({"version": 1, "tracks": [{"points": [[30, 48], [400, 48]]}]})
    with caplog.at_level(logging.WARNING):
        run_node("IV_TrajectoryEditor", tracks=text, frames=4, reference=picture())
    assert any("track 0" in r.getMessage() and "outside" in r.getMessage() for r in caplog.records)


def test_flow_then_preview_moves_the_disk_along_the_track(run_node):
    text = json.dumps({"version": 1, "tracks": [{"points": [[30, 48], [100, 48]], "radius": 10}]})
    tracks, *_ = run_node("IV_TrajectoryEditor", tracks=text, frames=8, reference=picture()).result
    flow, weight, colours = run_node(
        "IV_TrajectoryToFlow",
        tracks=tracks,
        width=512,
        height=512,
        interpolation="linear",
        falloff=1.0,
        radius=0.0,
        size_from_image=picture(),
    ).result
    assert isinstance(flow, Flow) and flow.flow.shape == (8, H, W, 2)
    assert weight.shape == (8, H, W) and 0 <= float(weight.min()) and float(weight.max()) == 1.0
    assert colours.shape == (8, H, W, 3) and torch.allclose(colours[0], torch.ones(H, W, 3))
    (frames,) = run_node("IV_MotionPreview", image=picture(), flow=flow).result
    assert frames.shape == (8, H, W, 3)
    for f in range(8):
        expected = torch.tensor([30 + 70 * f / 7, 48.0])
        assert torch.allclose(red_centroid(frames[f]), expected, atol=0.5), f


def test_flow_size_comes_from_a_latent_and_tracks_are_rescaled(run_node):
    text = json.dumps({"version": 1, "width": 256, "height": 192, "tracks": [{"points": [[60, 96], [200, 96]]}]})
    tracks, *_ = run_node("IV_TrajectoryEditor", tracks=text, frames=3).result
    latent = {"samples": torch.zeros(3, 4, H // 8, W // 8)}
    flow, _, _ = run_node(
        "IV_TrajectoryToFlow",
        tracks=tracks,
        width=64,
        height=64,
        interpolation="smooth",
        falloff=1.0,
        radius=0.0,
        size_from_latent=latent,
    ).result
    assert flow.flow.shape == (3, H, W, 2)
    # A 140 px drag at 256 px wide is 70 px at 128: the region's centre reads 70 px back in the last frame.
    assert torch.allclose(flow.flow[-1, 48, 100], torch.tensor([-70.0, 0.0]), atol=1e-3)


def test_a_mask_track_needs_its_mask(run_node):
    text = json.dumps({"version": 1, "tracks": [{"points": [[10, 10], [40, 10]], "mask": 1}]})
    tracks, *_ = run_node("IV_TrajectoryEditor", tracks=text, frames=2).result
    args = dict(tracks=tracks, width=64, height=64, interpolation="linear", falloff=1.0, radius=0.0)
    with pytest.raises(TrackError, match="track 0: mask index 1 is out of range for a MASK batch of 1"):
        run_node("IV_TrajectoryToFlow", masks=torch.ones(1, 64, 64), **args)
    masks = torch.zeros(2, 64, 64)
    masks[1, 5:15, 5:15] = 1
    flow, weight, _ = run_node("IV_TrajectoryToFlow", masks=masks, **args).result
    assert torch.allclose(flow.flow[1, 10, 40], torch.tensor([-30.0, 0.0]), atol=1e-3)


def test_nodes_are_in_the_pack_category(pack):
    for node_id in ("IV_TrajectoryEditor", "IV_TrajectoryToFlow", "IV_MotionPreview"):
        schema = comfy_nodes.NODE_CLASS_MAPPINGS[node_id].GET_SCHEMA()
        assert schema.category == "InteractiveVideo/trajectory"


# --- the paint canvas: a layer file in ComfyUI's input folder ------------------------------------------------


def write_layer(name: str, rgba) -> str:
    """Write an RGBA layer where the canvas uploads it; returns the `paint` widget value."""
    import os

    import folder_paths
    import numpy as np
    from PIL import Image

    folder = os.path.join(folder_paths.get_input_directory(), "interactivevideo")
    os.makedirs(folder, exist_ok=True)
    Image.fromarray(np.asarray(rgba, dtype=np.uint8), "RGBA").save(os.path.join(folder, name))
    return f"interactivevideo/{name}"


def stroke_layer(colour=(0, 255, 0), alpha=255):
    import numpy as np

    rgba = np.zeros((H, W, 4), np.uint8)
    rgba[10:20, 30:60] = (*colour, alpha)
    return rgba


def test_paint_layer_is_composited_and_its_alpha_is_the_mask(run_node):
    import numpy as np

    rgba = stroke_layer()
    rgba[40:44, 5:9] = (0, 0, 255, 128)  # half-opacity dab
    paint = write_layer("node-test-composite.png", rgba)
    _, painted, mask = run_node("IV_TrajectoryEditor", tracks="", frames=4, reference=picture(), paint=paint).result[:3]
    inside = torch.zeros(H, W, dtype=torch.bool)
    inside[10:20, 30:60] = True
    dab = torch.zeros(H, W, dtype=torch.bool)
    dab[40:44, 5:9] = True
    assert torch.equal(painted[0, inside], torch.tensor([0.0, 1.0, 0.0]).expand(int(inside.sum()), 3))
    a = 128 / 255
    expected = picture()[0, dab] * (1 - a) + torch.tensor([0.0, 0.0, 1.0]) * a
    assert torch.allclose(painted[0, dab], expected, atol=1e-6)
    untouched = ~(inside | dab)
    assert torch.equal(painted[0, untouched], picture()[0, untouched])
    assert (
        mask[0, inside].eq(1).all() and torch.allclose(mask[0, dab], torch.tensor(a)) and not mask[0, untouched].any()
    )
    assert np.isclose(float(mask.sum()), inside.sum() + a * dab.sum())


def test_paint_problems_are_named(run_node):
    with pytest.raises(FileNotFoundError, match=r"paint layer 'interactivevideo/gone\.png' not found .*Paint on the"):
        run_node("IV_TrajectoryEditor", tracks="", frames=2, reference=picture(), paint="interactivevideo/gone.png")
    with pytest.raises(ValueError, match="outside"):
        run_node("IV_TrajectoryEditor", tracks="", frames=2, reference=picture(), paint="../../etc/passwd")
    paint = write_layer("node-test-noref.png", stroke_layer())
    with pytest.raises(ValueError, match="no reference image is connected"):
        run_node("IV_TrajectoryEditor", tracks="", frames=2, paint=paint)


def test_without_reference_tracks_still_flow_and_paint_outputs_block_their_users(run_node):
    from comfy_execution.graph_utils import ExecutionBlocker

    tracks, painted, mask = run_node("IV_TrajectoryEditor", tracks="", frames=2).result[:3]
    assert isinstance(tracks, Tracks)
    assert isinstance(painted, ExecutionBlocker) and "connect one to `reference`" in painted.message
    assert isinstance(mask, ExecutionBlocker)


def test_fingerprint_follows_the_layer_file_overwritten_in_place(pack):
    editor = comfy_nodes.NODE_CLASS_MAPPINGS["IV_TrajectoryEditor"]
    paint = write_layer("node-test-fingerprint.png", stroke_layer())
    first = editor.fingerprint_inputs(tracks="", frames=2, paint=paint)
    assert editor.fingerprint_inputs(tracks="", frames=2, paint=paint) == first
    write_layer("node-test-fingerprint.png", stroke_layer(colour=(255, 0, 0)))
    second = editor.fingerprint_inputs(tracks="", frames=2, paint=paint)
    assert second != first
    assert editor.fingerprint_inputs(tracks="", frames=2, paint="") != second


def test_core_tracks_both_ways_where_comfyui_has_the_type(run_node):
    """On a ComfyUI with core TRACKS (0.33.0 and later) the editor gives them and Trajectory to Flow takes them,
    visibility honoured; on an older one the pack loads without them."""
    from comfy_api.latest import io

    import nodes

    ours = nodes.NODE_CLASS_MAPPINGS["IV_TrajectoryToFlow"].GET_NODE_INFO_V1()
    editor = nodes.NODE_CLASS_MAPPINGS["IV_TrajectoryEditor"].GET_NODE_INFO_V1()
    if not hasattr(io, "Tracks"):
        assert not os.environ.get("IV_COMFYUI"), "the newer ComfyUI of the version matrix should have core TRACKS"
        assert "core_tracks" not in ours["input"]["optional"] and "TRACKS" not in editor["output"]
        return
    assert ours["input"]["optional"]["core_tracks"][0] == "TRACKS" and editor["output"][-1] == "TRACKS"
    text = '{"version": 1, "width": 128, "height": 64, "tracks": [{"points": [[32, 32], [96, 32]], "radius": 10}]}'
    reference = torch.rand(1, 32, 64, 3)  # half the track space: positions come out in the image's pixels
    out = run_node("IV_TrajectoryEditor", tracks=text, frames=5, reference=reference).result
    core = out[-1]
    assert core["track_path"].shape == (5, 1, 2) and bool(core["track_visibility"].all())
    torch.testing.assert_close(core["track_path"][[0, -1], 0], torch.tensor([[16.0, 16.0], [48.0, 16.0]]))

    # Back: the core tracks drive the flow as the editor's do; a point hidden from frame 2 on holds its region still.
    common = {"width": 64, "height": 32, "interpolation": "linear", "falloff": 1.0, "radius": 5.0}
    from_core = run_node("IV_TrajectoryToFlow", core_tracks=core, **common).result[0]
    from_ours = run_node("IV_TrajectoryToFlow", tracks=out[0], **common).result[0]
    torch.testing.assert_close(from_core.flow, from_ours.flow, atol=1e-4, rtol=0)
    hidden = {**core, "track_visibility": torch.tensor([[True], [True], [False], [False], [False]])}
    held = run_node("IV_TrajectoryToFlow", core_tracks=hidden, **common).result[0].flow
    torch.testing.assert_close(held[4], held[1], atol=1e-5, rtol=0)
    assert float(held[4].abs().max()) > 1.0
    with pytest.raises(ValueError, match="connect one of them"):
        run_node("IV_TrajectoryToFlow", tracks=out[0], core_tracks=core, **common)
    with pytest.raises(ValueError, match="no tracks"):
        run_node("IV_TrajectoryToFlow", **common)
