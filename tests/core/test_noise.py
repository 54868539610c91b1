"""core.noise: flow-warped noise stays standard normal per frame and follows the flow."""

import pytest
import torch

from comfyui_interactivevideo.core.noise import flow_noise, warp_noise
from comfyui_interactivevideo.core.warp import warp


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


def test_flow_noise_is_standard_normal_per_frame_at_64x64():
    flow = _rotation_zoom_flow(8, 512)  # image pixels; the latent is 64×64
    noise = flow_noise((8, 4, 64, 64), flow, seed=3)
    for f in range(8):
        assert abs(float(noise[f].mean())) <= 0.02
        assert abs(float(noise[f].std()) - 1) <= 0.02


def test_plain_bilinear_warp_would_shrink_the_variance():
    # The failure this module exists to avoid: a half-pixel shift averages pairs, std 0.71.
    base = torch.randn(1, 4, 64, 64, generator=torch.Generator().manual_seed(0))
    flow = torch.zeros(1, 64, 64, 2)
    flow[..., 0] = 0.5
    assert float(warp(base, flow).std()) < 0.75
    assert abs(float(warp_noise(base[0], flow, torch.randn(1, 4, 64, 64)).std()) - 1) < 0.02


def test_moving_region_carries_frame0_noise():
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
    for f in range(1, frames):
        r = regions[f]
        here = noise[f][:, r]
        there = torch.roll(noise[0], shifts=(2 * f, 3 * f), dims=(1, 2))[:, r]
        corr = torch.corrcoef(torch.stack([here.flatten(), there.flatten()]))[0, 1]
        assert corr >= 0.95
        # and outside the moving region, where the flow is 0, the frame keeps frame 0's noise
        outside = ~(regions[f] | regions[0])
        outside[:2], outside[-2:], outside[:, :2], outside[:, -2:] = False, False, False, False
        torch.testing.assert_close(noise[f][:, outside], noise[0][:, outside])


def test_deterministic_per_seed_and_variation_stays_normal():
    flow = _rotation_zoom_flow(4, 256)
    a = flow_noise((4, 4, 32, 32), flow, seed=5)
    assert torch.equal(a, flow_noise((4, 4, 32, 32), flow, seed=5))
    assert not torch.equal(a, flow_noise((4, 4, 32, 32), flow, seed=6))
    b = flow_noise((4, 4, 64, 64), _rotation_zoom_flow(4, 512), seed=5, variation=0.6)
    for f in range(4):
        assert abs(float(b[f].std()) - 1) <= 0.02


def test_video_latent_shape():
    flow = _rotation_zoom_flow(5, 128)
    out = flow_noise((2, 4, 5, 16, 16), flow, seed=0)
    assert out.shape == (2, 4, 5, 16, 16)
    assert not torch.equal(out[0], out[1])  # each video its own base noise
    with pytest.raises(ValueError, match="frames"):
        flow_noise((3, 4, 16, 16), flow, seed=0)
