"""ComfyUI's core TRACKS with the pack on a real server (ComfyUI 0.33.0 and later have the type): core tracks drive
the pack's flow and preview, and the editor's tracks feed core track nodes. On a ComfyUI without the type these
graphs cannot exist; the test then checks that the pack still loads, and under the version matrix's newer ComfyUI
(IV_COMFYUI set) it insists on the type."""

import io
import os

import numpy as np
import pytest
from PIL import Image

from comfyui_interactivevideo.devkit import pipeline

SIZE, FRAMES = 64, 4


@pytest.fixture(scope="module")
def core_tracks_server(server):
    info = server.object_info()
    assert "IV_TrajectoryToFlow" in info
    if "GenerateTracks" not in info:
        assert not os.environ.get("IV_COMFYUI"), "the newer ComfyUI of the version matrix should have core TRACKS"
        pytest.skip("this ComfyUI has no core TRACKS type (older than Wan-Move's nodes)")
    server.upload_image(pipeline.sample_image(SIZE), "example.png", overwrite=True)
    return server


def frames(server, history, node) -> list[np.ndarray]:
    return [np.asarray(Image.open(io.BytesIO(b)).convert("RGB")).astype(int) for b in server.outputs(history, node)]


def test_generate_tracks_drive_the_flow_and_the_motion_preview(core_tracks_server):
    server = core_tracks_server
    prompt = {
        "image": {"class_type": "LoadImage", "inputs": {"image": "example.png"}},
        "tracks": {
            "class_type": "GenerateTracks",
            "inputs": {
                "width": SIZE,
                "height": SIZE,
                "start_x": 0.3,
                "start_y": 0.5,
                "end_x": 0.7,
                "end_y": 0.5,
                "num_frames": FRAMES,
                "num_tracks": 1,
                "track_spread": 0.0,
                "bezier": False,
                "mid_x": 0.5,
                "mid_y": 0.5,
                "interpolation": "linear",
            },
        },
        "flow": {
            "class_type": "IV_TrajectoryToFlow",
            "inputs": {
                "core_tracks": ["tracks", 0],
                "width": SIZE,
                "height": SIZE,
                "interpolation": "linear",
                "falloff": 1.0,
                "radius": 8.0,
            },
        },
        "preview": {"class_type": "IV_MotionPreview", "inputs": {"image": ["image", 0], "flow": ["flow", 0]}},
        "save": {"class_type": "SaveImage", "inputs": {"images": ["preview", 0], "filename_prefix": "iv-core-tracks"}},
        "colours": {"class_type": "SaveImage", "inputs": {"images": ["flow", 2], "filename_prefix": "iv-core-flow"}},
    }
    history = server.run(prompt, timeout=300)
    shown = frames(server, history, "save")
    assert len(shown) == FRAMES and shown[0].shape == (SIZE, SIZE, 3)
    assert np.abs(shown[-1] - shown[0]).max() > 40, "the preview does not move"
    last = frames(server, history, "colours")[-1]
    assert (255 - last).max() > 40, "the flow colours show no motion"


def test_the_editors_tracks_feed_core_track_nodes(core_tracks_server):
    server = core_tracks_server
    text = '{"version": 1, "tracks": [{"points": [[16, 32], [48, 32]], "radius": 8}]}'
    prompt = {
        "image": {"class_type": "LoadImage", "inputs": {"image": "example.png"}},
        "editor": {
            "class_type": "IV_TrajectoryEditor",
            "inputs": {"tracks": text, "frames": FRAMES, "reference": ["image", 0], "paint": ""},
        },
        "draw": {
            "class_type": "WanMoveVisualizeTracks",
            "inputs": {
                "images": ["image", 0],
                "tracks": ["editor", 3],
                "line_resolution": 4,
                "circle_size": 3,
                "opacity": 1.0,
                "line_width": 2,
            },
        },
        "save": {"class_type": "SaveImage", "inputs": {"images": ["draw", 0], "filename_prefix": "iv-wanmove"}},
    }
    history = server.run(prompt, timeout=300)
    drawn = frames(server, history, "save")
    assert len(drawn) == FRAMES
    plain = np.asarray(Image.open(io.BytesIO(pipeline.sample_image(SIZE))).convert("RGB")).astype(int)
    assert np.abs(drawn[-1] - plain).max() > 40, "the core node drew no track"
