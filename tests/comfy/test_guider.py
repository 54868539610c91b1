"""IV_ResidualBlendGuider against an analytic prior: a model whose x̂₀ is a known latent video V.

With x̂₀ = V at every σ, Euler's last step lands exactly on the last (blended) prediction, so the output is
(1 − s·M)⊙V + s·M⊙T to float precision, and every step's prediction is V + s(σ_i)·M⊙(T − V) with s(σ_i) from
the documented schedule. Regions are disks moved by whole latent pixels, so the expected targets are plain
shifts (torch.roll) computed independently of the warp code.
"""

import logging
import math

import pytest
import torch

from comfyui_interactivevideo.core.edit import Edit
from comfyui_interactivevideo.core.flow import Flow

FRAMES, H, W, SCALE = 4, 16, 16, 8
STEP = (1, 2)  # the moving disk goes down 1 and right 2 latent pixels per frame


def disk(cy, cx, r=2.5, h=H, w=W):
    ys, xs = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    return (((ys - cy) ** 2 + (xs - cx) ** 2) <= r * r).float()


def shift(t, f):
    """Frame f's view of frame 0 content under the translation: content moved by f·STEP."""
    return torch.roll(t, shifts=(STEP[0] * f, STEP[1] * f), dims=(-2, -1))


def translation_flow(weight_latent):
    """Global backward translation (in image pixels) with a weight given at latent resolution [F, H, W]."""
    flow = torch.zeros(FRAMES, H * SCALE, W * SCALE, 2)
    for f in range(FRAMES):
        flow[f, ..., 0] = -STEP[1] * f * SCALE
        flow[f, ..., 1] = -STEP[0] * f * SCALE
    weight = weight_latent.repeat_interleave(SCALE, 1).repeat_interleave(SCALE, 2)
    return Flow(flow, weight)


def analytic(model, cond_x0, uncond_x0=None):
    """A clone of ``model`` whose denoised prediction is ``cond_x0`` (cond) / ``uncond_x0`` (uncond), model space."""
    m = model.clone()

    def wrapper(apply_model, args):
        x = args["input"]
        chunks = args["cond_or_uncond"]
        per = x.shape[0] // len(chunks)
        outs = []
        for c in chunks:
            v = cond_x0 if c == 0 or uncond_x0 is None else uncond_x0
            outs.append(v.to(x).reshape(per, *x.shape[1:]) if v.shape[0] == per else v.to(x))
        return torch.cat(outs)

    m.set_model_unet_function_wrapper(wrapper)
    return m


def conditioning(seed):
    return [[torch.randn(1, 77, 768, generator=torch.Generator().manual_seed(seed)), {}]]


@pytest.fixture
def scene():
    gen = torch.Generator().manual_seed(7)
    video = torch.randn(FRAMES, 4, H, W, generator=gen) * 5  # raw VAE-latent scale
    target = torch.randn(1, 4, H, W, generator=gen) * 5
    return video, target


def run(run_node, model, latent, cfg=1.0, steps=8, sampler="euler", callback=None, **blend):
    defaults = {"strength": 1.0, "start_percent": 0.0, "end_percent": 1.0, "curve": "constant", "mode": "residual"}
    guider = run_node(
        "IV_ResidualBlendGuider",
        model=model,
        positive=conditioning(1),
        negative=conditioning(2),
        cfg=cfg,
        **{**defaults, **blend},
    ).result[0]
    sigmas = run_node("BasicScheduler", model=model, scheduler="normal", steps=steps, denoise=1.0).result[0]
    noise = run_node("RandomNoise", noise_seed=0).result[0]
    sampler = run_node("KSamplerSelect", sampler_name=sampler).result[0]
    if callback is None:
        latent_dict = {"samples": latent}
        return run_node(
            "SamplerCustomAdvanced",
            noise=noise,
            guider=guider,
            sampler=sampler,
            sigmas=sigmas,
            latent_image=latent_dict,
        ).result[0]["samples"]
    out = guider.sample(noise.generate_noise({"samples": latent}), latent, sampler, sigmas, callback=callback)
    return out, sigmas


def model_space(model, raw):
    return model.model.process_latent_in(raw)


@pytest.mark.parametrize("s", [0.0, 0.3, 1.0])
@pytest.mark.parametrize("case", ["paint", "flow", "both"])
def test_euler_ends_at_the_blend_frame_by_frame(run_node, small_model, scene, s, case):
    video, target = scene
    paint = disk(10, 3).view(1, 1, H, W) if case in ("paint", "both") else torch.zeros(1, 1, H, W)
    moving = torch.stack([shift(disk(4, 4), f) for f in range(FRAMES)])
    flow = translation_flow(moving) if case in ("flow", "both") else None
    edit = Edit(target=target, mask=paint, original=video[:1])
    model = analytic(small_model, model_space(small_model, video))
    out = run(run_node, model, torch.zeros(FRAMES, 4, H, W), edit=edit, flow=flow, strength=s)
    for f in range(FRAMES):
        if flow is None:
            m, t = paint[0, 0], target[0]
        else:
            m, t = torch.maximum(shift(paint[0, 0], f), moving[f]), shift(target[0], f)
        expected = (1 - s * m) * video[f] + s * m * t
        torch.testing.assert_close(out[f], expected, atol=1e-4, rtol=0)
        outside = m == 0
        torch.testing.assert_close(out[f][:, outside], video[f][:, outside], atol=1e-4, rtol=0)


def percent(model, sigma):
    """ComfyUI's sampling progress of σ for a discrete (SD1.5) schedule, written out independently: σ(t)
    interpolates log σ linearly between the 1000 training timesteps, and percent = 1 − t / 999."""
    import numpy as np

    log_sigmas = model.get_model_object("model_sampling").log_sigmas.double().numpy()
    t = float(np.interp(math.log(float(sigma)), log_sigmas, np.arange(len(log_sigmas))))
    return 1.0 - t / 999.0


@pytest.mark.parametrize(
    ("curve", "start", "end"),
    [("constant", 0.3, 0.7), ("linear", 0.0, 1.0), ("cosine", 0.2, 0.9), ("linear", 0.5, 1.0)],
)
def test_schedule_acts_per_step_exactly_as_documented(run_node, small_model, scene, curve, start, end):
    video, target = scene
    paint = disk(8, 8, 4).view(1, 1, H, W)
    model = analytic(small_model, model_space(small_model, video))
    steps = []
    out, sigmas = run(
        run_node,
        model,
        torch.zeros(FRAMES, 4, H, W),
        steps=12,
        callback=lambda i, x0, x, total: steps.append(x0.clone()),
        edit=Edit(target=target, mask=paint),
        strength=0.8,
        start_percent=start,
        end_percent=end,
        curve=curve,
    )
    v, t = model_space(small_model, video), model_space(small_model, target)
    acted = 0
    for i, x0 in enumerate(steps):
        p = percent(small_model, sigmas[i])
        u = (p - start) / (end - start)
        s = (
            0.0
            if not start <= p <= end
            else {"constant": 0.8, "linear": 0.8 * (1 - u)}.get(curve, 0.8 * 0.5 * (1 + math.cos(math.pi * u)))
        )
        acted += s > 0
        torch.testing.assert_close(x0, v + s * paint * (t - v), atol=2e-5, rtol=0)
    assert 0 < acted < len(steps) or (start, end) == (0.0, 1.0)
    torch.testing.assert_close(model_space(small_model, out), steps[-1], atol=2e-5, rtol=0)


def test_cfg_is_applied_before_the_blend(run_node, small_model, scene):
    video, target = scene
    uncond = torch.flip(video, dims=(0,)) * 0.5
    paint = disk(8, 8, 4).view(1, 1, H, W)
    model = analytic(small_model, model_space(small_model, video), model_space(small_model, uncond))
    out = run(
        run_node, model, torch.zeros(FRAMES, 4, H, W), cfg=3.0, edit=Edit(target=target, mask=paint), strength=0.6
    )
    guided = uncond + 3.0 * (video - uncond)
    torch.testing.assert_close(out, (1 - 0.6 * paint) * guided + 0.6 * paint * target, atol=1e-4, rtol=0)


def test_batch_of_images_and_video_latents(run_node, small_model, scene):
    video, target = scene
    paint = disk(8, 8, 4).view(1, 1, H, W)
    # 5-D [B, C, T, h, w]: two videos, the edit applies to every frame of each.
    vids = torch.stack([video, video.flip(0)]).transpose(1, 2)  # [2, 4, F, H, W]
    model = analytic(small_model, model_space(small_model, vids))
    out = run(run_node, model, torch.zeros_like(vids), edit=Edit(target=target, mask=paint), strength=0.5)
    torch.testing.assert_close(
        out, (1 - 0.5 * paint.unsqueeze(2)) * vids + 0.5 * paint.unsqueeze(2) * target.unsqueeze(2), atol=1e-4, rtol=0
    )
    # a per-frame edit on a 5-D latent with fewer latent frames than edit frames is resampled in time
    edit8 = Edit(target=target.expand(8, -1, -1, -1), mask=paint.expand(8, -1, -1, -1))
    out = run(run_node, model, torch.zeros_like(vids), edit=edit8, strength=0.5)
    assert torch.allclose(
        out, (1 - 0.5 * paint.unsqueeze(2)) * vids + 0.5 * paint.unsqueeze(2) * target.unsqueeze(2), atol=1e-4
    )


def test_align_edits_decay_per_frame_and_combine_with_paint(run_node, small_model, scene):
    video, target = scene
    weights = torch.tensor([1.0, 0.6, 0.3, 0.0])
    align = Edit(target=target, mask=torch.ones(1, 1, H, W), original=target, frame_weights=weights)
    model = analytic(small_model, model_space(small_model, video))
    out = run(run_node, model, torch.zeros(FRAMES, 4, H, W), align=align, strength=0.5)
    w = weights.view(FRAMES, 1, 1, 1)
    torch.testing.assert_close(out, (1 - 0.5 * w) * video + 0.5 * w * target, atol=1e-4, rtol=0)
    # two instructions: where both act, the pull is their mask-weighted mean (documented formula)
    paint_target = -target
    paint = disk(8, 8, 4).view(1, 1, H, W)
    out = run(
        run_node,
        model,
        torch.zeros(FRAMES, 4, H, W),
        edit=[Edit(target=paint_target, mask=paint)],
        align=[align],
        strength=1.0,
    )
    total = (paint + w).clamp(min=1)
    expected = video + (paint * (paint_target - video) + w * (target - video)) / total
    torch.testing.assert_close(out, expected, atol=1e-4, rtol=0)


def test_dual_mode_uses_the_image_conditioned_second_path(run_node, pack):
    import comfy.model_patcher
    import comfy.supported_models

    from comfyui_interactivevideo.devkit import sd15

    # An SD1.5 inpainting-layout model (9 input channels): ComfyUI feeds it `concat_latent_image`.
    config = comfy.supported_models.SD15({**sd15.unet_config(32), "in_channels": 9})
    base = comfy.model_patcher.ModelPatcher(
        config.get_model({}, "", device=torch.device("cpu")), torch.device("cpu"), torch.device("cpu")
    )
    m = base.clone()
    calls = []

    def wrapper(apply_model, args):
        calls.append(args["input"].shape[0])
        return args["c"]["c_concat"][:, 1:5].to(args["input"])  # x̂₀ = the conditioning image (model space)

    m.set_model_unet_function_wrapper(wrapper)
    gen = torch.Generator().manual_seed(3)
    image, target = torch.randn(1, 4, H, W, generator=gen) * 5, torch.randn(1, 4, H, W, generator=gen) * 5
    paint = disk(8, 8, 4).view(1, 1, H, W)
    cond = [[torch.randn(1, 77, 768), {"concat_latent_image": image, "concat_mask": torch.zeros(1, H, W)}]]
    guider = run_node(
        "IV_ResidualBlendGuider",
        model=m,
        positive=cond,
        negative=cond,
        cfg=2.0,
        strength=0.7,
        start_percent=0.0,
        end_percent=1.0,
        curve="constant",
        mode="dual",
        edit=Edit(target=target, mask=paint),
    ).result[0]
    assert guider.dual
    sigmas = run_node("BasicScheduler", model=m, scheduler="normal", steps=4, denoise=1.0).result[0]
    sampler = run_node("KSamplerSelect", sampler_name="euler").result[0]
    out = run_node(
        "SamplerCustomAdvanced",
        noise=run_node("RandomNoise", noise_seed=0).result[0],
        guider=guider,
        sampler=sampler,
        sigmas=sigmas,
        latent_image={"samples": torch.zeros(FRAMES, 4, H, W)},
    ).result[0]["samples"]
    expected = image + 0.7 * paint * (target - image)
    torch.testing.assert_close(out, expected.expand(FRAMES, -1, -1, -1), atol=1e-4, rtol=0)
    assert calls == [4 * FRAMES] * 4  # cond, uncond and both instruction paths in one call per step


def test_dual_without_image_conditioning_warns_and_runs_residual(run_node, small_model, scene, caplog):
    video, target = scene
    paint = disk(8, 8, 4).view(1, 1, H, W)
    model = analytic(small_model, model_space(small_model, video))
    with caplog.at_level(logging.WARNING):
        out = run(
            run_node,
            model,
            torch.zeros(FRAMES, 4, H, W),
            edit=Edit(target=target, mask=paint),
            strength=0.5,
            mode="dual",
        )
    assert "no" in caplog.text and "runs as 'residual'" in caplog.text
    torch.testing.assert_close(out, (1 - 0.5 * paint) * video + 0.5 * paint * target, atol=1e-4, rtol=0)


def test_dual_with_an_image_latent_the_model_ignores_warns_and_runs_residual(run_node, small_model, scene, caplog):
    video, target = scene
    paint = disk(8, 8, 4).view(1, 1, H, W)
    model = analytic(small_model, model_space(small_model, video))  # 4 input channels: no concat input
    cond = [[torch.randn(1, 77, 768), {"concat_latent_image": target}]]
    guider = run_node(
        "IV_ResidualBlendGuider",
        model=model,
        positive=cond,
        negative=cond,
        cfg=1.0,
        strength=0.5,
        start_percent=0.0,
        end_percent=1.0,
        curve="constant",
        mode="dual",
        edit=Edit(target=target, mask=paint),
    ).result[0]
    sigmas = run_node("BasicScheduler", model=model, scheduler="normal", steps=4, denoise=1.0).result[0]
    sampler = run_node("KSamplerSelect", sampler_name="euler").result[0]
    with caplog.at_level(logging.WARNING):
        out = run_node(
            "SamplerCustomAdvanced",
            noise=run_node("RandomNoise", noise_seed=0).result[0],
            guider=guider,
            sampler=sampler,
            sigmas=sigmas,
            latent_image={"samples": torch.zeros(FRAMES, 4, H, W)},
        ).result[0]["samples"]
    assert "does not take image conditioning" in caplog.text
    torch.testing.assert_close(out, (1 - 0.5 * paint) * video + 0.5 * paint * target, atol=1e-4, rtol=0)


def test_the_model_passed_in_is_not_modified(run_node, small_model, scene):
    video, target = scene
    model = analytic(small_model, model_space(small_model, video))
    options_before = repr(model.model_options)
    run(run_node, model, torch.zeros(FRAMES, 4, H, W), edit=Edit(target=target, mask=disk(8, 8).view(1, 1, H, W)))
    assert repr(model.model_options) == options_before


def test_clear_errors(run_node, small_model, scene):
    video, target = scene
    model = analytic(small_model, model_space(small_model, video))
    with pytest.raises(ValueError, match="flow was given without an edit"):
        run(run_node, model, torch.zeros(FRAMES, 4, H, W), flow=translation_flow(torch.zeros(FRAMES, H, W)))
    with pytest.raises(ValueError, match="encode the images at the video's size"):
        run(run_node, model, torch.zeros(FRAMES, 4, 8, 8), edit=Edit(target=target, mask=torch.ones(1, 1, H, W)))
    with pytest.raises(ValueError, match="3 frames but the latent batch has 4"):
        edit = Edit(target=target.expand(3, -1, -1, -1), mask=torch.ones(1, 1, H, W))
        run(run_node, model, torch.zeros(FRAMES, 4, H, W), edit=edit)
    with pytest.raises(ValueError, match="start_percent"):
        run(run_node, model, torch.zeros(FRAMES, 4, H, W), start_percent=0.8, end_percent=0.2)
