"""The guider on the full-size SD1.5 UNet (random weights, the ``sd15_full`` checkpoint): strength pulls toward the target, locally.

A real UNet is not the analytic prior: the blended x̂₀ feeds back into the next step's input and the network
spreads some of that change beyond the region. These tests pin what a user relies on: strength 0 is exactly
core CFGGuider, more strength means closer to the target inside the region, and the change stays mostly local.
"""

import pytest
import torch

from comfyui_interactivevideo.core.instructions import Paint

FRAMES, H, W = 1, 16, 16  # frames are independent here (no motion module): one is the case of every frame


def disk(cy, cx, r):
    ys, xs = torch.meshgrid(torch.arange(H), torch.arange(W), indexing="ij")
    return (((ys - cy) ** 2 + (xs - cx) ** 2) <= r * r).float()


@pytest.fixture(scope="module")
def outputs(run_node, pack):
    # The sd15_full checkpoint's UNet, weights kept in fp16 (computed in fp32) to stay under ~4 GB; see devkit.unet.
    from comfyui_interactivevideo.devkit import unet

    model = unet.load_unet()
    positive, negative = unet.conditioning(1), unet.conditioning(2)
    target = torch.randn(1, 4, H, W, generator=torch.Generator().manual_seed(4)) * 4
    mask = disk(8, 8, 4).view(1, 1, H, W)
    latent = {"samples": torch.zeros(FRAMES, 4, H, W)}
    sigmas = run_node("BasicScheduler", model=model, scheduler="normal", steps=3, denoise=1.0).result[0]
    sampler = run_node("KSamplerSelect", sampler_name="euler").result[0]
    noise = run_node("RandomNoise", noise_seed=123).result[0]

    def sample(guider):
        return run_node(
            "SamplerCustomAdvanced", noise=noise, guider=guider, sampler=sampler, sigmas=sigmas, latent_image=latent
        ).result[0]["samples"]

    core = sample(run_node("CFGGuider", model=model, positive=positive, negative=negative, cfg=7.0).result[0])
    ours = {}
    for s in (0.0, 0.25, 0.5, 1.0):
        guider = run_node(
            "IV_ResidualBlendGuider",
            model=model,
            positive=positive,
            negative=negative,
            cfg=7.0,
            edit=Paint(original=torch.zeros_like(target), painted=target, region=mask),
            strength=s,
            start_percent=0.0,
            end_percent=1.0,
            curve="constant",
            mode="residual",
        ).result[0]
        ours[s] = sample(guider)
    return core, ours, target, mask


def test_strength_zero_is_core_cfg_guider(outputs):
    core, ours, _, _ = outputs
    assert torch.equal(ours[0.0], core)


def test_distance_to_target_inside_falls_monotonically_with_strength(outputs):
    _, ours, target, mask = outputs
    inside = mask[0, 0].bool()
    dist = {s: float((out - target)[..., inside].abs().mean()) for s, out in ours.items()}
    print(f"\nmean |output - T| inside M by strength: {dist}")
    assert dist[0.0] > dist[0.25] > dist[0.5] > dist[1.0]
    assert dist[1.0] < 1e-3 * dist[0.0] + 1e-4  # s = 1 with constant strength ends on the target


def test_change_stays_local(outputs):
    _, ours, _, mask = outputs
    inside = mask[0, 0].bool()
    grown = torch.nn.functional.max_pool2d(mask, kernel_size=7, stride=1, padding=3)[0, 0].bool()  # +3 latent px
    outside = ~grown
    for s in (0.25, 0.5, 1.0):
        change = (ours[s] - ours[0.0]).abs()
        ratio = float(change[..., outside].mean()) / float(change[..., inside].mean())
        print(f"strength {s}: mean change outside M (beyond 3 latent px) / inside = {ratio:.4f}")
        assert ratio < 0.5
