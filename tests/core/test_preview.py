"""One preview frame equals that frame of the full clip's flow and warp (the canvas's live preview)."""

import json

import numpy as np
import pytest
import torch

from comfyui_interactivevideo.core.flow import tracks_to_flow
from comfyui_interactivevideo.core.preview import preview_frame, track_positions
from comfyui_interactivevideo.core.trajectory import parse_tracks
from comfyui_interactivevideo.core.warp import warp

TRACKS = json.dumps(
    {
        "version": 1,
        "width": 64,
        "height": 48,
        "tracks": [
            {"points": [[10, 10], [30, 20], [50, 12]], "radius": 6, "anchor": False},
            {"points": [[40, 35], [20, 40]], "frames": [2, 6], "anchor": False},
            {"points": [[55, 40]], "radius": 5, "anchor": True},
        ],
    }
)


@pytest.mark.parametrize("interpolation", ["smooth", "linear"])
@pytest.mark.parametrize("frame", [0, 3, 7])
def test_one_frame_matches_the_clip(interpolation, frame):
    torch.manual_seed(0)
    image = torch.rand(1, 96, 128, 3)  # twice the tracks' space: rescaled as the flow node does
    flow, _ = tracks_to_flow(TRACKS, 8, 96, 128, interpolation=interpolation)
    clip = warp(image.movedim(-1, 1), flow).movedim(1, -1)
    one = preview_frame(image, TRACKS, frame, 8, interpolation=interpolation)
    assert one.shape == (96, 128, 3)
    torch.testing.assert_close(one, clip[frame].clamp(0, 1), atol=2e-4, rtol=0)


def test_positions_are_the_flows_and_anchors_stay():
    pos = track_positions(TRACKS, 8, "smooth")
    assert pos.shape == (3, 8, 2)
    np.testing.assert_allclose(pos[:2], parse_tracks(TRACKS).resample(8, "smooth")[:2])
    np.testing.assert_allclose(pos[2], [[55, 40]] * 8)
    assert not np.allclose(track_positions(TRACKS, 8, "linear")[0], pos[0])  # the slider follows `smooth`
