"""The edit canvas's live preview route on a real server: one warped frame and the slider's positions."""

import base64
import io
import json

import numpy as np
import pytest
import torch
from PIL import Image

from comfyui_interactivevideo.core.flow import tracks_to_flow
from comfyui_interactivevideo.core.warp import warp
from comfyui_interactivevideo.devkit.server import ServerError

TRACKS = json.dumps(
    {"version": 1, "width": 96, "height": 64, "tracks": [{"points": [[20, 32], [50, 20], [76, 32]], "radius": 10}]}
)


def scene() -> np.ndarray:
    """Smooth (JPEG keeps it), with a red disk where the track starts."""
    ys, xs = np.mgrid[0:64, 0:96] + 0.5
    rgb = np.stack((xs / 96, ys / 64, np.full_like(xs, 0.5)), -1)
    rgb[(xs - 20) ** 2 + (ys - 32) ** 2 < 8**2] = (0.9, 0.1, 0.1)
    return (rgb * 255).astype(np.uint8)


def test_preview_is_that_frame_of_the_flow_and_warp(server):
    buf = io.BytesIO()
    Image.fromarray(scene()).save(buf, format="PNG")
    name = server.upload_image(buf.getvalue(), "iv_preview_scene.png", overwrite=True)["name"]
    body = {"tracks": TRACKS, "frames": 8, "frame": 5, "interpolation": "smooth", "image": {"filename": name}}
    reply = server.post_json("/interactivevideo/preview", body)
    assert (reply["width"], reply["height"], reply["frame"]) == (96, 64, 5)
    positions = np.asarray(reply["positions"])
    assert positions.shape == (1, 8, 2)
    np.testing.assert_allclose(positions[0, [0, -1]], [[20, 32], [76, 32]], atol=0.01)
    assert positions[0, 3:5, 1].max() < 24  # `smooth` bends through the middle point, above the chord

    got = np.asarray(Image.open(io.BytesIO(base64.b64decode(reply["image"].split(",", 1)[1]))).convert("RGB"))
    image = torch.from_numpy(scene().astype(np.float32) / 255)
    flow, _ = tracks_to_flow(TRACKS, 8, 64, 96, interpolation="smooth")
    want = warp(image.movedim(-1, 0)[None], flow).movedim(1, -1)[5].clamp(0, 1).numpy() * 255
    assert np.abs(got.astype(np.float32) - want).mean() < 6  # JPEG
    moved = np.abs(got.astype(np.float32) - scene()).mean()
    assert moved > 10  # and it did move


def test_positions_without_an_image_and_refused_paths(server):
    reply = server.post_json("/interactivevideo/preview", {"tracks": TRACKS, "frames": 4, "interpolation": "linear"})
    assert "image" not in reply and np.asarray(reply["positions"]).shape == (1, 4, 2)
    with pytest.raises(ServerError, match="400"):
        server.post_json("/interactivevideo/preview", {"tracks": TRACKS, "image": {"filename": "../../server.log"}})
    with pytest.raises(ServerError, match="400"):
        server.post_json(
            "/interactivevideo/preview", {"tracks": TRACKS, "image": {"filename": "x.png", "type": "models"}}
        )
    with pytest.raises(ServerError, match="404"):
        server.post_json("/interactivevideo/preview", {"tracks": TRACKS, "image": {"filename": "nope.png"}})
    with pytest.raises(ServerError, match="400"):
        server.post_json("/interactivevideo/preview", {"tracks": "{not json"})
