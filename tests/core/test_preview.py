"""One preview frame equals that frame of the full clip's flow and warp (the canvas's live preview); the route's
bounds: the work estimate is the work done, and the reference-image cache stays within its bytes."""

import json
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch
from PIL import Image

from comfyui_interactivevideo.core import flow as flow_module
from comfyui_interactivevideo.core.flow import TRAIL_PASS_CELLS, flow_work, tracks_to_flow
from comfyui_interactivevideo.core.preview import (
    MAX_PREVIEW_WORK,
    ImageCache,
    image_size,
    load_image,
    preview_frame,
    preview_work,
    track_positions,
)
from comfyui_interactivevideo.core.trajectory import Tracks, parse_tracks
from comfyui_interactivevideo.core.warp import warp
from comfyui_interactivevideo.devkit.scenes import busy_tracks, png_claiming

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


def linear_path(points, frames: int) -> np.ndarray:
    """Constant speed along the polyline through ``points`` over ``frames`` frames, written out."""
    points = np.asarray(points, dtype=float)
    cumulative = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(points, axis=0), axis=1))])
    at = np.linspace(0.0, cumulative[-1], frames)
    return np.stack([np.interp(at, cumulative, points[:, 0]), np.interp(at, cumulative, points[:, 1])], axis=1)


def flow_at(flow: torch.Tensor, positions: np.ndarray) -> np.ndarray:
    """Each frame's backward flow at the pixel nearest each position.  [F, H, W, 2], [F, 2]  ->  [F, 2]"""
    return np.stack([flow[f, round(y), round(x)].numpy() for f, (x, y) in enumerate(positions)])


@pytest.mark.parametrize("interpolation", ["smooth", "linear"])
def test_positions_are_where_the_flow_moves_each_region_and_anchors_stay(interpolation):
    """The slider shows each region where the flow puts it: in frame f the flow at the region's place reads frame 0
    at its first place (backward flow = place at 0 − place at f). Control: the other interpolation's places are
    not where this flow moves the regions."""
    pos = track_positions(TRACKS, 8, interpolation)
    assert pos.shape == (3, 8, 2)
    np.testing.assert_allclose(pos[2], [[55, 40]] * 8)  # the anchor
    # Keyframed on frames 2 and 6 (two points: straight under either interpolation), held before and after.
    np.testing.assert_allclose(pos[1], [[40, 35]] * 3 + [[35, 36.25], [30, 37.5], [25, 38.75]] + [[20, 40]] * 2)
    np.testing.assert_allclose(pos[0][[0, -1]], [[10, 10], [50, 12]])
    if interpolation == "linear":
        np.testing.assert_allclose(pos[0], linear_path([[10, 10], [30, 20], [50, 12]], 8), atol=1e-6)
    flow, _ = tracks_to_flow(TRACKS, 8, 48, 64, interpolation=interpolation)
    for track in (0, 1):
        np.testing.assert_allclose(flow_at(flow, pos[track]), pos[track, :1] - pos[track], atol=1e-3)
    other = track_positions(TRACKS, 8, "linear" if interpolation == "smooth" else "smooth")
    assert np.abs(flow_at(flow, other[0]) - (other[0, :1] - other[0])).max() > 1.0


# -- the route's bounds: the work of one frame, and the reference images kept ------------------------------


# Scattered tracks leave the picture on purpose (one never enters it): the warning that says so is expected.
leaving = pytest.mark.filterwarnings("ignore:track .* outside the:UserWarning")


def scattered(count: int, anchors: int, size: tuple[int, int], radius: float, seed: int = 0) -> Tracks:
    rng = np.random.default_rng(seed)
    width, height = size
    items = []
    for i in range(count):
        start = rng.uniform(0, (width, height))
        points = [start.tolist()] if i < anchors else [start.tolist(), (start + rng.normal(0, 12, 2)).tolist()]
        items.append({"points": points, "radius": radius, "anchor": i < anchors})
    items.append({"points": [[-500, -500], [-480, -500]], "radius": 3})  # off the picture: no box at all
    return parse_tracks({"version": 1, "width": width, "height": height, "tracks": items})


@pytest.fixture
def trail_passes(monkeypatch):
    """Every pass tracks_to_flow makes: the pixel-frames it covers (px, py [h, w]; centre [F, 2])."""
    passes: list[int] = []
    trail = flow_module._disk_trail

    def counted(px, py, centre, *rest):
        passes.append(px.numel() * centre.shape[0])
        return trail(px, py, centre, *rest)

    monkeypatch.setattr(flow_module, "_disk_trail", counted)
    return passes


@leaving
@pytest.mark.parametrize(
    ("count", "anchors", "radius", "frames"),
    [(6, 3, 2.0, 6), (5, 2, 30.0, 9), (4, 0, 5.0, 3)],  # stride 1 with frame groups; stride 2; no anchors
)
def test_flow_work_is_the_passes_tracks_to_flow_makes(trail_passes, count, anchors, radius, frames):
    tracks = scattered(count, anchors, (96, 64), radius)
    tracks_to_flow(tracks, frames, 64, 96, interpolation="smooth")
    made = sum(trail_passes) + TRAIL_PASS_CELLS * len(trail_passes)
    assert flow_work(tracks, frames, 64, 96, interpolation="smooth") == made
    if anchors:
        # The control: counting each region's own passes only (a work model blind to anchors) falls far short.
        moving_groups = (count - anchors) * len(range(0, frames, 4))
        own = len(trail_passes) - moving_groups * anchors
        assert own < len(trail_passes) / 2


@leaving
def test_preview_work_is_the_work_of_that_preview_frame(trail_passes):
    tracks = scattered(8, 2, (96, 64), 4.0)
    image = torch.rand(128, 192, 3)  # twice the tracks' space
    preview_frame(image, tracks, 5, 8)
    assert preview_work((192, 128), tracks, 5, 8) == sum(trail_passes) + TRAIL_PASS_CELLS * len(trail_passes) > 0
    assert preview_work((192, 128), tracks, 0, 8) == 0  # frame 0 is the image itself


@leaving
def test_the_work_budget_takes_an_editors_scene_and_refuses_anchors_times_tracks():
    busy = parse_tracks(busy_tracks(768, 8))  # the latency bench's scene, at the editor's preview size
    assert preview_work((768, 768), busy, 15, 16) < MAX_PREVIEW_WORK / 10
    held = scattered(128, 64, (96, 64), 4.0)  # 64 moving tracks under 64 anchors, on a tiny picture
    assert preview_work((96, 64), held, 5, 8) > MAX_PREVIEW_WORK


def write_png(path, size, value: int) -> None:
    Image.new("RGB", size, (value, value, value)).save(path)


def test_the_image_cache_stays_within_its_bytes_under_many_images(tmp_path):
    one = 32 * 32 * 3  # bytes of one decoded 32x32 image
    cache, unbounded = ImageCache(max_bytes=3 * one), ImageCache(max_bytes=10**9)
    paths = [str(tmp_path / f"{i}.png") for i in range(12)]
    for i, path in enumerate(paths):
        write_png(path, (32, 32), i * 20)
        for c in (cache, unbounded):
            c.get(path, 64)
            if i == 5:
                c.get(paths[3], 64)  # used again: kept over 4 when 6 arrives
        assert cache.bytes <= cache.max_bytes and len(cache) <= 3
    assert len(unbounded) == 12 and unbounded.bytes == 12 * one  # the control: without the bound all stay
    kept = {key[0] for key in cache._images}
    assert kept == set(paths[-3:])
    cache = ImageCache(max_bytes=3 * one)
    for path in paths[:6]:
        cache.get(path, 64)
        if path == paths[4]:
            cache.get(paths[3], 64)
    assert {key[0] for key in cache._images} == {paths[3], paths[4], paths[5]}  # least recently used went first


def test_the_image_cache_reloads_a_changed_file_and_keeps_no_oversized_image(tmp_path):
    path = str(tmp_path / "a.png")
    write_png(path, (20, 10), 10)
    cache = ImageCache(max_bytes=20 * 10 * 3)
    assert int(cache.get(path, 64)[0, 0, 0]) == 10
    write_png(path, (20, 10), 200)
    os.utime(path, ns=(1, 1))  # however fast the rewrite, the key changes
    assert int(cache.get(path, 64)[0, 0, 0]) == 200 and len(cache) == 1
    big = str(tmp_path / "big.png")
    write_png(big, (40, 40), 90)
    assert tuple(cache.get(big, 64).shape) == (40, 40, 3) and len(cache) == 1 and cache.bytes == 600


def test_the_image_cache_is_safe_to_share_between_threads(tmp_path):
    paths = [str(tmp_path / f"{i}.png") for i in range(6)]
    for i, path in enumerate(paths):
        write_png(path, (16, 16), 40 * i)
    cache = ImageCache(max_bytes=3 * 16 * 16 * 3)
    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(lambda k: int(cache.get(paths[k % 6], 64)[0, 0, 0]), range(400)))
    assert got == [40 * (k % 6) for k in range(400)]
    assert cache.bytes == sum(v.numel() for v in cache._images.values()) <= cache.max_bytes


def test_image_headers_are_read_without_decoding(tmp_path):
    turned = tmp_path / "turned.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # shown rotated a quarter turn
    Image.new("RGB", (40, 20)).save(turned, exif=exif)
    assert image_size(str(turned)) == (20, 40)
    assert tuple(load_image(str(turned), 64).shape) == (40, 20, 3)
    assert tuple(load_image(str(turned), 10).shape) == (10, 5, 3)
    (tmp_path / "text.png").write_bytes(b"not a picture")
    with pytest.raises(ValueError, match="not an image"):
        image_size(str(tmp_path / "text.png"))
    declared = tmp_path / "declared.png"  # a header and no pixels: only a reader that decodes fails
    declared.write_bytes(png_claiming(8193, 8192))
    assert image_size(str(declared)) == (8193, 8192)
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_claiming(16384, 16384))
    with pytest.raises(ValueError, match="more pixels"):
        image_size(str(bomb))
