"""Track text in the three dialects, resampled to positions per frame; malformed text named and explained."""

import json

import numpy as np
import pytest

from comfyui_interactivevideo.core import TrackError, parse_tracks
from comfyui_interactivevideo.core.trajectory import positions

PATH = [[40.0, 50.0], [100.0, 50.0], [100.0, 130.0]]


def test_ours_keeps_every_field():
    tracks = parse_tracks(
        {
            "version": 1,
            "width": 320,
            "height": 240,
            "tracks": [
                {"points": PATH, "frames": [0, 4, 9], "radius": 12, "mask": 1, "anchor": False},
                {"points": [[10, 10]], "anchor": True},
            ],
        }
    )
    assert (tracks.width, tracks.height, len(tracks)) == (320, 240, 2)
    first, second = tracks.tracks
    assert first.frames.tolist() == [0, 4, 9] and first.radius == 12.0 and first.mask == 1
    assert second.anchor and second.radius is None and second.frames is None
    assert parse_tracks(tracks.to_json()) == tracks


def test_the_three_dialects_read_the_same_path():
    ours = parse_tracks(json.dumps({"version": 1, "tracks": [{"points": PATH, "frames": [0, 1, 2]}]}))
    wan = parse_tracks(json.dumps([[{"x": x, "y": y} for x, y in PATH]]))
    wan_single = parse_tracks(json.dumps([{"x": x, "y": y} for x, y in PATH]))
    kj_quotes = parse_tracks(str([[{"x": x, "y": y} for x, y in PATH]]))  # KJNodes writes Python quotes
    nuwa = parse_tracks(json.dumps([PATH]))
    expected = ours.resample(3)
    for other in (wan, wan_single, kj_quotes, nuwa):
        np.testing.assert_allclose(other.resample(3), expected)


def test_without_keyframes_a_track_moves_at_constant_speed_over_the_clip():
    tracks = parse_tracks({"tracks": [{"points": PATH}]})  # 140 px of path
    pos = tracks.resample(8)[0]
    steps = np.linalg.norm(np.diff(pos, axis=0), axis=1)
    np.testing.assert_allclose(steps, 20.0, atol=1e-6)
    np.testing.assert_allclose(pos[[0, -1]], [PATH[0], PATH[-1]])


def test_keyframes_are_honoured_and_ends_held():
    tracks = parse_tracks({"tracks": [{"points": PATH, "frames": [2, 5, 9]}]})
    pos = tracks.resample(12)[0]
    np.testing.assert_allclose(pos[:3], [PATH[0]] * 3)
    np.testing.assert_allclose(pos[5], PATH[1])
    np.testing.assert_allclose(pos[9:], [PATH[2]] * 3)
    np.testing.assert_allclose(pos[7], [100.0, 50.0 + 80.0 * 2 / 4])  # constant speed between keyframes


@pytest.mark.parametrize("frames", [7, 16])
def test_smooth_passes_every_point_without_overshoot(frames):
    zigzag = [[0, 0], [30, 40], [60, 40], [90, 100], [120, 100]]
    smooth = parse_tracks({"tracks": [{"points": zigzag, "frames": [0, 1, 2, 3, 4]}]})
    fine = smooth.tracks[0].positions(np.linspace(0, 4, 401), 5, "smooth")
    # Monotone data stays monotone (no wiggle past a point), and the plateau at y = 40 and 100 stays flat.
    assert (np.diff(fine[:, 0]) >= -1e-9).all() and (np.diff(fine[:, 1]) >= -1e-9).all()
    assert fine[:, 1].max() <= 100.0 + 1e-9
    np.testing.assert_allclose(smooth.resample(5, "smooth")[0], zigzag, atol=1e-9)
    curve = parse_tracks({"tracks": [{"points": zigzag}]}).resample(frames, "smooth")[0]
    linear = parse_tracks({"tracks": [{"points": zigzag}]}).resample(frames, "linear")[0]
    assert not np.allclose(curve[1:-1], linear[1:-1])  # smooth is a different (curved) path


def test_points_are_rescaled_to_the_generation_size():
    tracks = parse_tracks({"width": 1024, "height": 512, "tracks": [{"points": [[512, 256], [1024, 0]]}]})
    pos = positions(tracks, 2, 256, 128)
    np.testing.assert_allclose(pos[0], [[128, 64], [256, 0]])


def test_points_outside_the_image_are_allowed_with_a_warning():
    tracks = parse_tracks({"width": 100, "height": 100, "tracks": [{"points": [[50, 50], [140, 50]]}]})
    assert len(tracks) == 1
    assert tracks.warnings and "track 0" in tracks.warnings[0] and "outside" in tracks.warnings[0]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"version": 1, "tracks": [{"points": []}]}', "track 0: has no points"),
        ('{"tracks": [{"points": [[1, 2]]}, {"radius": 3}]}', "track 1: has no points"),
        ('{"tracks": [{"points": [[1, 2], [NaN, 4]]}]}', "track 0: point 1 is not finite"),
        ('{"tracks": [{"points": [[1, 2], [3]]}]}', "track 0: every point must be"),
        ('{"tracks": [{"points": [[1, 2], [3, 4]], "frames": [0, 0]}]}', "track 0: frames must be strictly increasing"),
        ('{"tracks": [{"points": [[1, 2], [3, 4]], "frames": [0]}]}', "track 0: 1 frames for 2 points"),
        ('{"tracks": [{"points": [[1, 2]], "radius": -4}]}', "track 0: radius must be a positive"),
        ('{"tracks": [{"points": [[1, 2]], "mask": -1}]}', "track 0: mask must be a non-negative index"),
        ('{"tracks": [{"points": [[1, 2]], "anchor": "yes"}]}', "track 0: anchor must be true or false"),
        ('{"version": 2, "tracks": []}', "version 2 is not supported"),
        ('{"width": 10, "tracks": []}', "only one of width/height"),
        ('[[{"x": 1}]]', 'track 0: every point must be {"x"'),
        ("[[[1, 2]], []]", "track 1: has no points"),
        ("42", "must be a JSON object or list"),
    ],
)
def test_malformed_text_names_the_track_and_the_problem(text, message):
    with pytest.raises(TrackError, match=message.replace("[", r"\[").replace("{", r"\{")):
        parse_tracks(text)


def test_point_tracks_both_ways():
    """ComfyUI's core TRACKS ([frames, tracks, 2] points, [frames, tracks] visibility) to ours and back."""
    import numpy as np

    from comfyui_interactivevideo.core.trajectory import from_point_tracks, to_point_tracks

    frames = 6
    path = np.stack([[[10.0 + 4 * f, 20.0], [50.0, 60.0 - 2 * f]] for f in range(frames)])  # [6, 2, 2]
    visible = np.ones((frames, 2), dtype=bool)
    visible[3:, 1] = False  # the second point is hidden from frame 3 on
    tracks = from_point_tracks(path, visible)
    assert len(tracks) == 2 and tracks.frame_count == frames
    back, seen = to_point_tracks(tracks, frames, 100, 100, "linear")
    assert back.shape == (frames, 2, 2) and seen.all()
    np.testing.assert_allclose(back[:, 0], path[:, 0], atol=1e-5)
    np.testing.assert_allclose(back[:3, 1], path[:3, 1], atol=1e-5)
    np.testing.assert_allclose(back[3:, 1], np.repeat(path[2:3, 1], 3, axis=0), atol=1e-5)  # holds where hidden
    assert len(from_point_tracks(path, np.zeros((frames, 2), dtype=bool))) == 0
    with pytest.raises(TrackError, match="frames, tracks, 2"):
        from_point_tracks(path[0])
    with pytest.raises(TrackError, match="non-finite"):
        from_point_tracks(np.full((2, 1, 2), np.nan))
