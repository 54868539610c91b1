"""Tracks to dense flow: regions land where the track says, the rest of the picture stays put, nothing folds."""

import contextlib
import json
import warnings

import numpy as np
import pytest
import torch

from comfyui_interactivevideo.core import TrackError, flow_to_color, parse_tracks, tracks_to_flow, warp
from comfyui_interactivevideo.core.trajectory import positions

SIZE = 256


def centres(height: int = SIZE, width: int = SIZE) -> tuple[torch.Tensor, torch.Tensor]:
    ys, xs = torch.meshgrid(torch.arange(height) + 0.5, torch.arange(width) + 0.5, indexing="ij")
    return xs, ys


def disk(cx: float, cy: float, r: float, height: int = SIZE, width: int = SIZE) -> torch.Tensor:
    xs, ys = centres(height, width)
    return (((xs - cx) ** 2 + (ys - cy) ** 2) < r * r).float()


def centroid(m: torch.Tensor) -> torch.Tensor:
    xs, ys = centres(*m.shape)
    return torch.stack(((m * xs).sum(), (m * ys).sum())) / m.sum()


def segment_distance(a: np.ndarray, b: np.ndarray) -> torch.Tensor:
    """Distance of every pixel centre to the segment a-b.  ->  [H, W]"""
    xs, ys = centres()
    p = torch.stack((xs, ys), dim=-1).double()
    a, b = torch.as_tensor(a).double(), torch.as_tensor(b).double()
    ab = b - a
    t = (((p - a) @ ab) / max(float(ab @ ab), 1e-12)).clamp(0, 1)
    return (p - (a + t[..., None] * ab)).norm(dim=-1)


def jacobian_det(flow: torch.Tensor) -> torch.Tensor:
    """det of d(p + flow)/dp by central differences.  flow [F, H, W, 2]  ->  [F, H, W]"""
    xs, ys = centres(*flow.shape[1:3])
    bx, by = flow[..., 0] + xs, flow[..., 1] + ys
    bx_y, bx_x = torch.gradient(bx, dim=(1, 2))
    by_y, by_x = torch.gradient(by, dim=(1, 2))
    return bx_x * by_y - bx_y * by_x


def textured_scene(cx: float, cy: float, r: float) -> torch.Tensor:
    """A random background with a bright disk on it.  ->  [1, 1, H, W]"""
    gen = torch.Generator().manual_seed(0)
    background = torch.rand(SIZE, SIZE, generator=gen) * 0.5
    d = disk(cx, cy, r)
    return (background * (1 - d) + d * 2.0)[None, None]


TRACKS = {
    "straight": {"points": [[60, 128], [200, 100]]},
    "curved": {"points": [[50, 200], [90, 80], [170, 60], [210, 170]]},
    "keyframed": {"points": [[60, 60], [120, 60], [120, 180]], "frames": [1, 3, 8]},
    "out_of_frame": {"points": [[150, 128], [300, 150]]},
}


@pytest.mark.parametrize("name", sorted(TRACKS))
@pytest.mark.parametrize("interpolation", ["linear", "smooth"])
def test_a_dragged_disk_lands_where_the_track_says_and_the_rest_stays(name, interpolation):
    r, frames = 18.0, 10
    text = {"version": 1, "width": SIZE, "height": SIZE, "tracks": [{**TRACKS[name], "radius": r}]}
    start = TRACKS[name]["points"][0]
    with pytest.warns(UserWarning, match="outside") if name == "out_of_frame" else _no_warning():
        flow, weight = tracks_to_flow(text, frames, SIZE, SIZE, interpolation=interpolation)
    assert flow.shape == (frames, SIZE, SIZE, 2) and weight.shape == (frames, SIZE, SIZE)
    assert torch.equal(flow[0], torch.zeros_like(flow[0]))
    path = positions(parse_tracks(text), frames, SIZE, SIZE, interpolation)[0]
    scene = textured_scene(*start, r)
    moved = warp(disk(*start, r)[None, None], flow)[:, 0]
    out = warp(scene, flow)[:, 0]
    for f in range(frames):
        wanted = disk(*path[f], r)  # the disk at the requested place, cut by the frame where it leaves it
        assert abs(float(moved[f].sum() - wanted.sum())) <= 0.02 * float(wanted.sum()) + 1
        if wanted.sum() > 0:  # else it has left the picture, and so has the warped disk (line above)
            got = centroid(moved[f])
            assert torch.allclose(got, centroid(wanted), atol=0.5), (f, got.tolist(), path[f])
            assert weight[f][wanted > 0].min() == 1.0
        # Farther than 2 radii from the region wherever it went (start to here): untouched.
        far = segment_distance(np.asarray(start), path[f]) > 3 * r
        assert (out[f] - scene[0, 0])[far].abs().max() < 1e-4, f
        # The weight is the region where it is now, feathered over a radius (+3 px from a 2-px grid).
        assert weight[f][segment_distance(path[f], path[f]) > 2 * r + 3].max() == 0.0


@contextlib.contextmanager
def _no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


@pytest.mark.parametrize("direction", [(1, 0), (0.6, 0.8), (-0.8, 0.6)])
def test_a_150px_drag_keeps_the_disk_a_disk_without_fold_over(direction):
    r, start = 24.0, np.array([128.0, 128.0]) - 75 * np.asarray(direction)
    end = start + 150 * np.asarray(direction)
    text = {"tracks": [{"points": [start.tolist(), end.tolist()], "radius": r}]}
    flow, _ = tracks_to_flow(text, 6, SIZE, SIZE)
    moved = warp(disk(*start, r)[None, None], flow)[:, 0]
    area = float(disk(*start, r).sum())
    for f in range(6):
        assert abs(float(moved[f].sum()) - area) <= 0.1 * area
    np.testing.assert_allclose(centroid(moved[-1]).numpy(), end, atol=0.5)
    # Where a disk pixel shows up outside the disk, the map has folded the disk over the background.
    assert float((moved[-1] * (disk(*end, r + 1.5) == 0)).sum()) < 1.0
    assert float(jacobian_det(flow).min()) > 0.0


def test_two_opposite_tracks_and_an_anchor():
    r, frames = 16.0, 8
    moving = [
        {"points": [[50, 70], [200, 70]], "radius": r},
        {"points": [[200, 190], [50, 190]], "radius": r},
    ]
    anchor = {"points": [[128, 112]], "radius": 14, "anchor": True}  # inside the first track's reach
    held = disk(128, 112, 14) > 0
    scene = torch.rand(1, 1, SIZE, SIZE, generator=torch.Generator().manual_seed(1))
    flow, weight = tracks_to_flow({"tracks": [*moving, anchor]}, frames, SIZE, SIZE)
    loose, _ = tracks_to_flow({"tracks": moving}, frames, SIZE, SIZE)
    first = warp(disk(50, 70, r)[None, None], flow)[:, 0]
    second = warp(disk(200, 190, r)[None, None], flow)[:, 0]
    out = warp(scene, flow)[:, 0]
    for f in range(frames):
        x = 50 + 150 * f / (frames - 1)
        np.testing.assert_allclose(centroid(first[f]).numpy(), [x, 70], atol=0.5)
        np.testing.assert_allclose(centroid(second[f]).numpy(), [250 - x, 190], atol=0.5)
        assert (out[f] - scene[0, 0])[held].abs().max() < 1e-4
        assert weight[f][held].min() == 1.0
    # Without the anchor its region is dragged along by the first track; with it, nothing folds.
    assert (warp(scene, loose)[:, 0] - scene[0, 0])[:, held].abs().max() > 0.05
    assert float(jacobian_det(flow).min()) > 0.0


def test_the_three_formats_give_the_same_flow():
    path = [[40.0, 60.0], [80.0, 90.0], [130.0, 100.0], [170.0, 140.0]]
    ours = json.dumps({"version": 1, "tracks": [{"points": path, "frames": [0, 1, 2, 3]}]})
    wan = json.dumps([[{"x": x, "y": y} for x, y in path]])
    nuwa = json.dumps([path])
    flows = [tracks_to_flow(t, 4, 192, 224, radius=20)[0] for t in (ours, wan, nuwa)]
    assert flows[0].abs().max() > 10
    assert torch.equal(flows[0], flows[1]) and torch.equal(flows[0], flows[2])


def test_tracks_drawn_at_another_size_are_rescaled():
    big = {"width": 1024, "height": 1024, "tracks": [{"points": [[256, 512], [768, 512]], "radius": 96}]}
    flow, _ = tracks_to_flow(big, 3, SIZE, SIZE)
    moved = warp(disk(64, 128, 24)[None, None], flow)[:, 0]
    np.testing.assert_allclose(centroid(moved[-1]).numpy(), [192, 128], atol=0.5)
    np.testing.assert_allclose(centroid(moved[1]).numpy(), [128, 128], atol=0.5)


def test_a_mask_region_moves_rigidly_with_its_track():
    mask = torch.zeros(2, SIZE // 2, SIZE // 2)  # a MASK batch at half the generation size
    mask[1, 50:70, 20:45] = 1.0
    region = torch.nn.functional.interpolate(mask[None, 1:2], size=(SIZE, SIZE))[0] > 0.5
    text = {"tracks": [{"points": [[65, 120], [185, 60]], "mask": 1}]}
    flow, weight = tracks_to_flow(text, 5, SIZE, SIZE, masks=mask)
    moved = warp(region.float()[None], flow)[:, 0]
    for f in range(5):
        shift = torch.tensor([120.0, -60.0]) * f / 4
        assert torch.allclose(centroid(moved[f]), centroid(region[0].float()) + shift, atol=0.5)
        assert abs(float(moved[f].sum() - region.sum())) < 0.01 * float(region.sum())
    assert weight[-1][moved[-1] > 0.99].min() == 1.0


@pytest.mark.parametrize(
    ("text", "masks", "message"),
    [
        ({"tracks": [{"points": [[1, 2]], "mask": 2}]}, torch.zeros(2, 8, 8), "track 0: mask index 2 is out of range"),
        ({"tracks": [{"points": [[1, 2]]}, {"points": [[1, 2]], "mask": 0}]}, None, "track 1: uses mask 0 but no"),
        ('{"tracks": [{"points": [[1, 2], [3, 4]], "frames": [3, 1]}]}', None, "track 0: frames must be strictly"),
        ('{"tracks": [{"points": [[1, NaN]]}]}', None, "track 0: point 0 is not finite"),
    ],
)
def test_bad_tracks_raise_named_errors(text, masks, message):
    with pytest.raises(TrackError, match=message):
        tracks_to_flow(text, 4, 32, 32, masks=masks)


def test_flow_colours_follow_the_standard_wheel():
    flow = torch.zeros(1, 2, 3, 2)
    flow[0, 0, 0] = torch.tensor([4.0, 0.0])
    flow[0, 0, 1] = torch.tensor([2.0, 0.0])
    flow[0, 0, 2] = torch.tensor([0.0, 4.0])
    flow[0, 1, 0] = torch.tensor([-4.0, 0.0])
    colour = flow_to_color(flow)
    assert colour.shape == (1, 2, 3, 3) and colour.min() >= 0 and colour.max() <= 1
    torch.testing.assert_close(colour[0, 1, 1], torch.ones(3))  # still: white
    torch.testing.assert_close(colour[0, 0, 0], torch.tensor([1.0, 0.0, 0.0]))  # +x at full speed: red
    torch.testing.assert_close(colour[0, 0, 1], torch.tensor([1.0, 0.5, 0.5]))  # half speed: half saturated
    assert colour[0, 1, 0, 2] > 0.9 and colour[0, 1, 0, 0] < 0.1  # -x: cyan side
    assert colour[0, 0, 2, 0] > 0.5 and colour[0, 0, 2, 2] < 0.5  # +y: a warm hue, distinct from -x


def test_flow_stays_within_the_documented_reach_of_a_drag():
    """docs/method.md: zero flow farther than R = (1 + falloff) × radius from the segment start -> current place, except
    the square end of the trail, up to R behind the start and R to either side (+3 px on the 2-pixel grid)."""
    radius, falloff, size = 36.0, 1.0, 256
    start, end = torch.tensor([90.0, 128.0]), torch.tensor([190.0, 128.0])
    tracks = {
        "version": 1,
        "width": size,
        "height": size,
        "tracks": [{"points": [start.tolist(), end.tolist()], "radius": radius}],
    }
    flow, _ = tracks_to_flow(tracks, 5, size, size, falloff=falloff)
    reach, slack = (1 + falloff) * radius, 3.0
    ys, xs = torch.meshgrid(torch.arange(size) + 0.5, torch.arange(size) + 0.5, indexing="ij")
    p = torch.stack((xs, ys), dim=-1)
    beyond_segment = 0.0
    for f in range(1, 5):
        current = start + (end - start) * f / 4
        u = (current - start) / (current - start).norm()
        along = ((p - start) * u).sum(-1)
        across = ((p - start)[..., 0] * u[1] - (p - start)[..., 1] * u[0]).abs()
        to_segment = torch.hypot(across, (along - along.clamp(0, float((current - start).norm()))))
        square_end = (along >= -reach - slack) & (along <= 0) & (across <= reach + slack)
        moving = flow[f].norm(dim=-1) > 1e-6
        assert not (moving & (to_segment > reach + slack) & ~square_end).any(), f"frame {f}"
        beyond_segment = max(beyond_segment, float(to_segment[moving].max()))
    # The square end is really used: the old documented bound (R from the segment, no square end) does not hold.
    assert beyond_segment > 1.3 * reach
