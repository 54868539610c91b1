"""IV_Sampler: the same result as SamplerCustomAdvanced with the guider, plus KSampler's progress and previews."""

import comfy.utils
import pytest
import torch

from comfyui_interactivevideo.core.flow import Flow
from comfyui_interactivevideo.core.instructions import Paint


def cond(seed):
    return [[torch.randn(1, 77, 768, generator=torch.Generator().manual_seed(seed)), {}]]


@pytest.fixture
def setup(small_model):
    gen = torch.Generator().manual_seed(5)
    target = torch.randn(1, 4, 8, 8, generator=gen)
    mask = torch.zeros(1, 1, 8, 8)
    mask[..., 2:6, 2:6] = 1
    flow = torch.zeros(3, 64, 64, 2)
    flow[1, ..., 0], flow[2, ..., 0] = -8.0, -16.0
    weight = torch.zeros(3, 64, 64)
    weight[:, 16:48, 16:48] = 1
    blend = {
        "edit": Paint(original=torch.zeros_like(target), painted=target, region=mask),
        "flow": Flow(flow, weight),
        "strength": 0.6,
        "start_percent": 0.0,
        "end_percent": 0.8,
        "curve": "cosine",
        "mode": "residual",
    }
    return small_model, blend


@pytest.mark.parametrize("flow_noise", [False, True])
def test_iv_sampler_equals_the_custom_sampler_chain(run_node, setup, flow_noise):
    model, blend = setup
    latent = {"samples": torch.zeros(3, 4, 8, 8)}
    common = {"positive": cond(1), "negative": cond(2)}
    out = run_node(
        "IV_Sampler",
        model=model,
        seed=9,
        steps=5,
        cfg=4.0,
        sampler_name="dpmpp_2m",
        scheduler="karras",
        latent_image=latent,
        denoise=1.0,
        flow_noise=flow_noise,
        **common,
        **blend,
    ).result[0]["samples"]
    guider = run_node("IV_ResidualBlendGuider", model=model, cfg=4.0, **common, **blend).result[0]
    if flow_noise:
        noise = run_node("IV_FlowNoise", noise_seed=9, flow=blend["flow"], variation=0.0).result[0]
    else:
        noise = run_node("RandomNoise", noise_seed=9).result[0]
    sigmas = run_node("BasicScheduler", model=model, scheduler="karras", steps=5, denoise=1.0).result[0]
    sampler = run_node("KSamplerSelect", sampler_name="dpmpp_2m").result[0]
    ref = run_node(
        "SamplerCustomAdvanced", noise=noise, guider=guider, sampler=sampler, sigmas=sigmas, latent_image=latent
    ).result[0]["samples"]
    assert torch.equal(out, ref)


def test_iv_sampler_reports_progress_with_previews(run_node, setup):
    model, blend = setup
    updates = []
    comfy.utils.set_progress_bar_global_hook(lambda value, total, preview, node_id=None: updates.append((value, total)))
    try:
        run_node(
            "IV_Sampler",
            model=model,
            seed=0,
            steps=4,
            cfg=1.0,
            sampler_name="euler",
            scheduler="normal",
            positive=cond(1),
            negative=cond(2),
            latent_image={"samples": torch.zeros(3, 4, 8, 8)},
            denoise=0.5,
            flow_noise=True,
            **blend,
        )
    finally:
        comfy.utils.set_progress_bar_global_hook(None)
    # One update per step at most, in order, ending at 4 of 4 (newer ComfyUI throttles them: it may skip some).
    steps = [value for value, total in updates if total == 4]
    assert steps[-1] == 4 and steps == sorted(steps) and len(steps) >= 2 and set(steps) <= {1, 2, 3, 4}


def test_iv_sampler_at_strength_zero_is_ksampler(run_node, setup):
    model, blend = setup
    latent = {"samples": torch.randn(3, 4, 8, 8, generator=torch.Generator().manual_seed(1))}
    kw = {
        "seed": 3,
        "steps": 4,
        "cfg": 5.0,
        "sampler_name": "euler_ancestral",
        "scheduler": "normal",
        "positive": cond(1),
        "negative": cond(2),
        "latent_image": latent,
        "denoise": 0.7,
    }
    ours = run_node("IV_Sampler", model=model, flow_noise=False, **kw, **{**blend, "strength": 0.0}).result[0]
    import nodes

    core = nodes.KSampler().sample(model=model, **kw)[0]
    assert torch.equal(ours["samples"], core["samples"])
