"""Bad track texts, paint layers and long loops: named errors, bounded work, stoppable loops (no ComfyUI)."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
import torch
from PIL import Image

from comfyui_interactivevideo.core.flow import flow_bytes, tracks_to_flow
from comfyui_interactivevideo.core.flow_color import flow_to_color
from comfyui_interactivevideo.core.paint import MAX_LAYER_PIXELS, PaintLayerError, load_layer
from comfyui_interactivevideo.core.trajectory import MAX_COORDINATE, MAX_TRACKS, TrackError, parse_tracks


def ours(*tracks, **extra) -> str:
    return json.dumps({"version": 1, "tracks": list(tracks), **extra})


@pytest.mark.parametrize(
    "text,match",
    [
        ('{"version": 1, "tracks": [{"points": [[' + "9" * 400 + ", 1]]}]}", r"track 0: point 0 is .*±1,000,000"),
        ('{"version": 1, "tracks": [{"points": [[' + "9" * 5000 + ", 1]]}]}", "a number JSON cannot read"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        (ours({"points": [[1e30, 5]]}), r"track 0: point 0 .*within ±1,000,000 pixels"),
        (ours({"points": [[5, 5]]}, width=float("inf"), height=64), "width/height must be numbers of pixels"),
        (ours({"points": [[5, 5]]}, width=0.2, height=64), "from 1 to 65536"),
        (ours({"points": [[5, 5]]}, width=10**400, height=64), "from 1 to 65536"),
        (ours({"points": [[5, 5]], "radius": float("nan")}), "track 0: radius"),
        (ours({"points": [[5, 5]], "radius": float("inf")}), "track 0: radius"),
        (ours({"points": [[5, 5], [6, 6]], "frames": [0, 10**400]}), "track 0: frames must be finite"),
        (ours({"points": [[5, 5], [6, 6]], "frames": [0, float("nan")]}), "track 0: frames must be finite"),
        (ours(*[{"points": [[1, 1]]}] * (MAX_TRACKS + 1)), f"{MAX_TRACKS + 1:,} tracks, more than"),
        (json.dumps([[[1, 1]]] * (MAX_TRACKS + 1)), "tracks, more than"),
        (ours({"points": [[1, 1]] * 20000}), "points, more than"),
        ('{"version": 1, "tracks": [{"points": [[NaN, 1]]}]}', "track 0: point 0 is not finite"),
    ],
    ids=lambda v: v[:40] if isinstance(v, str) else None,
)
def test_bad_track_texts_raise_a_track_error_that_says_what(text, match):
    with pytest.raises(TrackError, match=match):
        parse_tracks(text)


def test_the_limits_themselves_are_accepted():
    # Controls: the largest allowed coordinate, track count and an off-picture point all parse.
    edge = float(MAX_COORDINATE)
    assert len(parse_tracks(ours({"points": [[edge, -edge]]}, width=64, height=64))) == 1
    assert len(parse_tracks(ours(*[{"points": [[1, 1]]}] * MAX_TRACKS))) == MAX_TRACKS
    far = parse_tracks(ours({"points": [[-500, 900]]}, width=64, height=64))
    assert far.warnings  # allowed, with a warning


def test_a_coordinate_at_the_cap_keeps_the_flow_colours_finite():
    edge = float(MAX_COORDINATE)
    tracks = parse_tracks(ours({"points": [[8, 8], [edge, edge]], "radius": 4}, width=16, height=16))
    flow, _ = tracks_to_flow(tracks, 3, 16, 16)
    assert torch.isfinite(flow).all() and torch.isfinite(flow_to_color(-flow)).all()


def png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def test_paint_layers_that_are_not_images_or_too_large_are_named(tmp_path):
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    with pytest.raises(PaintLayerError, match=r"paint layer 'notes.png' is not an image"):
        load_layer(text)
    bomb = tmp_path / "bomb.png"  # 9000 x 9000 one-bit pixels: a few KB of file, 1.3 GB as a float layer
    bomb.write_bytes(png(Image.new("1", (9000, 9000))))
    assert bomb.stat().st_size < 100_000 and 9000 * 9000 > MAX_LAYER_PIXELS
    with pytest.raises(PaintLayerError, match=r"'bomb.png' is 9000x9000 pixels, more than a layer may have"):
        load_layer(bomb)
    fine = tmp_path / "fine.png"  # control
    fine.write_bytes(png(Image.new("RGBA", (8, 4), (255, 0, 0, 128))))
    assert tuple(load_layer(fine).shape) == (4, 8, 4)


class Stop(Exception):
    pass


def test_the_flow_loops_call_the_check_and_stop_when_it_raises():
    rng = np.random.default_rng(0)
    tracks = parse_tracks(
        ours(*[{"points": rng.uniform(0, 64, (2, 2)).tolist()} for _ in range(200)], width=64, height=64)
    )
    calls = []

    def check():
        calls.append(1)
        if len(calls) == 50:
            raise Stop

    with pytest.raises(Stop):
        tracks_to_flow(tracks, 8, 64, 64, check=check)
    assert len(calls) == 50
    calls.clear()
    flow, _ = tracks_to_flow(tracks, 8, 64, 64, check=lambda: calls.append(1))
    assert len(calls) >= 200 * 2  # control: every track, every frame group
    calls.clear()
    flow_to_color(flow, check=lambda: calls.append(1))
    assert len(calls) == 8


def test_flow_bytes_is_what_the_size_guard_compares():
    assert flow_bytes(16, 8192, 8192) > 16 * 8192 * 8192 * 7 * 4  # at least the flow, weight and colours
    assert flow_bytes(1, 8, 8) < 10_000
