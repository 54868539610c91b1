"""core.noise: flow-warped noise is N(0, 1), white in space, carries moving content's noise and renews still noise."""

import pytest
import torch

from comfyui_interactivevideo.core.flow import tracks_to_flow
from comfyui_interactivevideo.core.noise import (
    MOVING_ABOVE,
    STILL_BELOW,
    _bilinear_warp_noise,
    carried_share,
    flow_noise,
    latent_flow,
    warp_noise,
)
from comfyui_interactivevideo.core.warp import resize_flow, warp

SEEDS = range(4)


def _rotation_zoom_flow(frames, size):
    """A sub-pixel everywhere flow (rotation + zoom about the centre), in pixels of size×size."""
    ys, xs = torch.meshgrid(torch.arange(size).float(), torch.arange(size).float(), indexing="ij")
    c = (size - 1) / 2
    flow = torch.zeros(frames, size, size, 2)
    for f in range(frames):
        a, z = 0.05 * f, 1 + 0.03 * f
        cos, sin = torch.cos(torch.tensor(a)), torch.sin(torch.tensor(a))
        sx = (cos * (xs - c) - sin * (ys - c)) / z + c
        sy = (sin * (xs - c) + cos * (ys - c)) / z + c
        flow[f, ..., 0], flow[f, ..., 1] = sx - xs, sy - ys
    return flow


def _drag_flow(frames=8, size=256, radius=24.0, length=150.0):
    """A disk dragged ``length`` px right across a size² image: its trail behind it is stretched ≈ 7×."""
    tracks = {
        "version": 1,
        "width": size,
        "height": size,
        "tracks": [{"points": [[56.0, 128.0], [56.0 + length, 128.0]], "radius": radius}],
    }
    flow, _ = tracks_to_flow(tracks, frames, size, size)
    return flow


def _jacobian_det(flow):
    """det of d(p + flow)/dp by central differences.  flow [F, h, w, 2]  ->  [F, h, w]"""
    bx = flow[..., 0] + torch.arange(flow.shape[2])
    by = flow[..., 1] + torch.arange(flow.shape[1])[:, None]
    bx_y, bx_x = torch.gradient(bx, dim=(1, 2))
    by_y, by_x = torch.gradient(by, dim=(1, 2))
    return bx_x * by_y - bx_y * by_x


def _corr(a, b):
    return float(torch.corrcoef(torch.stack([a.flatten().double(), b.flatten().double()]))[0, 1])


def _lag1(noise, region, dim):
    """Correlation of samples with their next neighbour along ``dim`` (1: down, 2: right), both in ``region``,
    pooled over channels and frames.  noise [N, C, h, w]; region [N, h, w] bool."""
    n = region.shape[dim]
    both = region.narrow(dim, 0, n - 1) & region.narrow(dim, 1, n - 1)
    both = both.unsqueeze(1).expand(-1, noise.shape[1], -1, -1)
    return _corr(noise.narrow(dim + 1, 0, n - 1)[both], noise.narrow(dim + 1, 1, n - 1)[both]), int(both.sum())


def _bilinear_flow_noise(shape, flow, seed):
    """The former flow_noise (bilinear warp renormalised per sample): the control the whiteness tests must fail."""
    frames, c, h, w = shape
    gen = torch.Generator().manual_seed(seed)
    base = torch.randn((c, h, w), generator=gen)
    return _bilinear_warp_noise(base, resize_flow(flow, h, w), torch.randn((frames, c, h, w), generator=gen))


def test_flow_noise_is_standard_normal_per_frame_at_64x64():
    """Control: frame 0's noise warped plainly (bilinear) along the same flows leaves the bound (std 0.67 under the
    rotation, 0.94-0.97 behind the drag)."""
    drag = _drag_flow()
    for flow, frozen in ((_rotation_zoom_flow(8, 128), False), (drag, False), (drag, True)):
        noise = flow_noise((8, 4, 64, 64), flow, seed=3, frozen=frozen)
        for f in range(8):
            assert abs(float(noise[f].mean())) <= 0.02
            assert abs(float(noise[f].std()) - 1) <= 0.02
        plain = warp(noise[:1].expand(8, -1, -1, -1), resize_flow(flow, 64, 64))
        assert max(abs(float(plain[f].std()) - 1) for f in range(8)) > 0.03


def test_plain_bilinear_warp_would_shrink_the_variance():
    # The failure a plain warp has: a half-pixel shift averages pairs, std 0.71.
    base = torch.randn(1, 4, 64, 64, generator=torch.Generator().manual_seed(0))
    flow = torch.zeros(1, 64, 64, 2)
    flow[..., 0] = 0.5
    assert float(warp(base, flow).std()) < 0.75
    assert abs(float(warp_noise(base[0], flow, torch.randn(1, 4, 64, 64)).std()) - 1) < 0.02


def test_white_inside_the_stretched_trail_of_a_long_drag_where_the_bilinear_warp_is_not():
    flow = _drag_flow()  # 256² image, disk of radius 24 dragged 150 px; 64² latent
    det = _jacobian_det(latent_flow(flow, 64, 64))
    trail = det < 0.5  # stretched at least 2×
    trail[0] = False
    assert float(det.min()) < 0.2 and int(trail.sum()) > 1000  # the case is really a long stretch
    new = torch.cat([flow_noise((8, 4, 64, 64), flow, seed=s) for s in SEEDS])
    old = torch.cat([_bilinear_flow_noise((8, 4, 64, 64), flow, seed=s) for s in SEEDS])
    region = trail.repeat(len(SEEDS), 1, 1)
    for dim in (1, 2):
        rho, pairs = _lag1(new, region, dim)
        assert pairs > 40_000 and abs(rho) <= 0.1, (dim, rho)
    # The control: neighbours of the bilinear warp read source points ≈ 0.14 px apart along the drag.
    assert _lag1(old, region, 2)[0] > 0.5
    # and the trail's samples are still standard normal (loosely: every frame's trail reads the same few source
    # pixels behind the start, so the samples of one seed are far from independent across frames)
    samples = new[region.unsqueeze(1).expand_as(new)]
    assert abs(float(samples.mean())) <= 0.06 and abs(float(samples.std()) - 1) <= 0.05


def test_white_under_a_global_subpixel_flow():
    flow = _rotation_zoom_flow(6, 128)
    rotation = torch.cat([flow_noise((6, 4, 64, 64), flow, seed=s)[1:] for s in SEEDS])
    control = torch.cat([_bilinear_flow_noise((6, 4, 64, 64), flow, seed=s)[1:] for s in SEEDS])
    everywhere = torch.ones(rotation.shape[0], 64, 64, dtype=torch.bool)
    for dim in (1, 2):
        assert abs(_lag1(rotation, everywhere, dim)[0]) <= 0.1
        assert _lag1(control, everywhere, dim)[0] > 0.2  # ≈ 0.35
    half = torch.zeros(2, 128, 128, 2)
    half[1] = 1.0  # half a latent pixel right and down
    shifted = torch.stack([flow_noise((2, 4, 64, 64), half, seed=s)[1] for s in SEEDS])
    control = torch.stack([_bilinear_flow_noise((2, 4, 64, 64), half, seed=s)[1] for s in SEEDS])
    everywhere = torch.ones(len(SEEDS), 64, 64, dtype=torch.bool)
    for dim in (1, 2):
        assert abs(_lag1(shifted, everywhere, dim)[0]) <= 0.1
        assert _lag1(control, everywhere, dim)[0] > 0.4  # (x0 + x1 + x2 + x3) / 2 shares two of four


def test_whole_pixel_drag_carries_the_source_samples_exactly():
    # 256² image, 32² latent: 14 frames over 104 px = 8 image px = one latent pixel per frame.
    tracks = {"version": 1, "width": 256, "height": 256, "tracks": [{"points": [[80, 96], [184, 96]], "radius": 40}]}
    flow, _ = tracks_to_flow(tracks, 14, 256, 256)
    noise = flow_noise((14, 4, 32, 32), flow, seed=7)
    grid = latent_flow(flow, 32, 32)
    for f in range(1, 14):
        rigid = (grid[f, ..., 0] == -f) & (grid[f, ..., 1] == 0)  # the disk's rigid core
        assert int(rigid.sum()) >= 20
        source = torch.roll(noise[0], shifts=f, dims=2)  # frame f at (y, x) reads frame 0 at (y, x - f)
        assert torch.equal(noise[f][:, rigid], source[:, rigid])


def test_moving_region_carries_frame0_noise_and_still_pixels_renew_theirs():
    # A disk moving (3, 2) latent pixels per frame over a still background (a flow that folds at the disk's edge).
    frames, size = 6, 64
    ys, xs = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    flow = torch.zeros(frames, size * 8, size * 8, 2)
    regions = []
    for f in range(frames):
        cy, cx = 20 + 2 * f, 16 + 3 * f
        disk = ((ys - cy) ** 2 + (xs - cx) ** 2 <= 64).float()
        regions.append(disk.bool())
        big = disk.repeat_interleave(8, 0).repeat_interleave(8, 1).bool()
        flow[f][big] = torch.tensor([-3.0 * f * 8, -2.0 * f * 8])  # frame f at p shows frame 0 at p − (2f, 3f)
    noise = flow_noise((frames, 4, size, size), flow, seed=11)
    frozen = flow_noise((frames, 4, size, size), flow, seed=11, frozen=True)
    assert torch.equal(noise[0], frozen[0])
    for f in range(1, frames):
        r = regions[f]
        there = torch.roll(noise[0], shifts=(2 * f, 3 * f), dims=(1, 2))[:, r]
        assert _corr(noise[f][:, r], there) >= 0.95
        assert torch.equal(noise[f][:, r], frozen[f][:, r])
        # Where the flow is 0 the frame gets its own noise; frozen, it keeps frame 0's.
        outside = ~(regions[f] | regions[0])
        outside[:2], outside[-2:], outside[:, :2], outside[:, -2:] = False, False, False, False
        assert abs(_corr(noise[f][:, outside], noise[0][:, outside])) <= 0.05
        assert abs(_corr(noise[f][:, outside], noise[f - 1][:, outside])) <= 0.05
        torch.testing.assert_close(frozen[f][:, outside], frozen[0][:, outside])


def test_still_background_of_a_drag_is_independent_per_frame_and_the_transition_is_normal():
    flow = _drag_flow()
    grid = latent_flow(flow, 64, 64)
    speed = grid.norm(dim=-1)
    noise = torch.stack([flow_noise((8, 4, 64, 64), flow, seed=s) for s in SEEDS])  # [S, F, C, h, w]
    frozen = flow_noise((8, 4, 64, 64), flow, seed=0, frozen=True)
    # Still, and so are the neighbours (a moving neighbour may take a share of the pixel's source cell).
    still_around = torch.nn.functional.max_pool2d(speed[:, None], 3, stride=1, padding=1)[:, 0] == 0
    for f in range(1, 8):
        still = still_around[f]
        assert int(still.sum()) > 2000
        assert abs(_corr(noise[:, f][..., still], noise[:, 0][..., still])) <= 0.05
        torch.testing.assert_close(frozen[f][:, still], frozen[0][:, still])
    # The band between still and moving mixes both, still N(0, 1).
    band = (speed > STILL_BELOW) & (speed < MOVING_ABOVE)
    band[0] = False
    samples = noise.transpose(1, 2)[:, :, band]
    assert samples.numel() > 2000
    assert abs(float(samples.mean())) <= 0.05 and abs(float(samples.std()) - 1) <= 0.05
    share = carried_share(grid)
    assert float(share[speed <= STILL_BELOW].max()) == 0.0 and float(share[speed >= MOVING_ABOVE].min()) == 1.0


def test_fractional_translation_keeps_the_overlap_with_the_source_pixel():
    # Footprints are snapped to 1/8 px; the sample keeps frame 0's noise in proportion to the overlap.
    gen = torch.Generator().manual_seed(0)
    base = torch.randn(4, 64, 64, generator=gen)
    inner = (slice(None), slice(4, -4), slice(4, -4))
    for dx, dy, overlap in ((0.125, 0.0, 0.875), (-0.25, 0.0, 0.75), (2.5, 1.0, 0.5), (0.5, 0.5, 0.25)):
        flow = torch.zeros(1, 64, 64, 2)
        flow[..., 0], flow[..., 1] = dx, dy
        out = warp_noise(base, flow, torch.randn(1, 4, 64, 64, generator=gen), generator=gen)[0]
        nearest = torch.roll(base, shifts=(-round(dy), -int(dx)), dims=(1, 2))  # the cell holding most of it
        assert abs(_corr(out[inner], nearest[inner]) - overlap) <= 0.03, (dx, dy)
        assert abs(float(out.std()) - 1) <= 0.02


def test_content_that_stops_keeps_its_noise():
    # Dragged over frames 0..3, then held: frames 3..5 have the same flow and the same noise.
    tracks = {
        "version": 1,
        "width": 256,
        "height": 256,
        "tracks": [{"points": [[80, 96], [150, 130]], "frames": [0, 3], "radius": 30}],
    }
    flow, _ = tracks_to_flow(tracks, 6, 256, 256)
    noise = flow_noise((6, 4, 32, 32), flow, seed=2)
    grid = latent_flow(flow, 32, 32)
    # (A footprint stretched below one sub-pixel gets fresh noise per frame: leave those out.)
    empty = warp_noise(torch.zeros(1, 32, 32), grid, torch.full((6, 1, 32, 32), float("nan")))[:, 0].isnan()
    moving = (carried_share(grid)[3] == 1) & ~empty[3]
    assert int(moving.sum()) > 50
    for f in (4, 5):
        assert torch.equal(noise[f][:, moving], noise[3][:, moving])
        assert abs(_corr(noise[f][:, ~moving], noise[3][:, ~moving])) <= 0.1


def test_source_outside_the_frame_gets_fresh_noise():
    flow = torch.zeros(2, 32, 32, 2)
    flow[1, ..., 0] = -10.0  # frame 1 at x reads x − 10: columns 0..9 read outside the frame
    base = torch.randn(4, 32, 32)
    fresh = torch.randn(2, 4, 32, 32)
    out = warp_noise(base, flow, fresh)
    assert torch.equal(out[1, :, :, :10], fresh[1, :, :, :10])
    assert torch.equal(out[1, :, :, 10:], base[:, :, :-10])
    noise = torch.stack([flow_noise((2, 4, 32, 32), flow * 8, seed=s) for s in range(8)])
    entering = noise[:, 1, :, :, :10]
    assert abs(float(entering.std()) - 1) <= 0.03
    assert max(abs(_corr(entering, noise[:, 0, :, :, x : x + 10])) for x in range(0, 23)) <= 0.05


def test_deterministic_per_seed_and_variation_stays_normal():
    flow = _rotation_zoom_flow(4, 256)
    a = flow_noise((4, 4, 32, 32), flow, seed=5)
    assert torch.equal(a, flow_noise((4, 4, 32, 32), flow, seed=5))
    assert not torch.equal(a, flow_noise((4, 4, 32, 32), flow, seed=6))
    assert not torch.equal(a, flow_noise((4, 4, 32, 32), flow, seed=5, frozen=True))
    for frozen in (False, True):
        b = flow_noise((4, 4, 64, 64), _rotation_zoom_flow(4, 128), seed=5, variation=0.6, frozen=frozen)
        for f in range(4):
            assert abs(float(b[f].std()) - 1) <= 0.02
    assert flow_noise((4, 4, 32, 32), flow, seed=5, dtype=torch.float16).dtype == torch.float16


def test_latent_flow_slices_match_resize_flow():
    flow = _drag_flow(frames=3)
    for h, w in ((32, 32), (64, 32), (85, 85)):
        torch.testing.assert_close(latent_flow(flow, h, w), resize_flow(flow, h, w), atol=1e-5, rtol=0)
    odd = torch.randn(2, 96, 96, 2, generator=torch.Generator().manual_seed(0))  # 3× and 1×: one tap
    for h, w in ((32, 32), (32, 96)):
        torch.testing.assert_close(latent_flow(odd, h, w), resize_flow(odd, h, w), atol=1e-5, rtol=0)


def test_video_latent_shape():
    flow = _rotation_zoom_flow(5, 128)
    out = flow_noise((2, 4, 5, 16, 16), flow, seed=0)
    assert out.shape == (2, 4, 5, 16, 16)
    assert not torch.equal(out[0], out[1])  # each video its own base noise
    # the first video is the frame-batched noise of the same seed
    assert torch.equal(out[0].transpose(0, 1), flow_noise((5, 4, 16, 16), flow, seed=0))
    with pytest.raises(ValueError, match="frames"):
        flow_noise((3, 4, 16, 16), flow, seed=0)
