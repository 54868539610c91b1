"""The instructions through ComfyUI's own samplers, against an analytic prior: a model whose denoised prediction is
a known latent video V at every σ. Euler's last step lands exactly on the last (instructed) prediction, so the
output is what the user asked for, role by role (devkit.scenes writes the expectation out without the pack's
code), through stock KSampler with Apply Instructions (IV) on the MODEL line, through the guider, and with PIA's
image conditioning present.
"""

import logging
import math

import pytest
import torch

import nodes
from comfyui_interactivevideo.core.instructions import Align
from comfyui_interactivevideo.devkit import scenes
from comfyui_interactivevideo.devkit.priors import analytic, gaussian
from comfyui_interactivevideo.devkit.scenes import FRAMES, H, W

COMBINATIONS = [
    {"paint", "align"},
    {"drag", "align"},
    {"paint", "drag", "align"},
    {"paint"},
    {"drag"},
]
ID = "+".join


def cond(seed: int, **extra):
    return [[torch.randn(1, 77, 768, generator=torch.Generator().manual_seed(seed)), extra]]


def model_space(model, raw):
    return model.model.process_latent_in(raw)


SCHEDULE = {"strength": 1.0, "start_percent": 0.0, "end_percent": 1.0, "curve": "constant"}


def via_ksampler(run_node, model, latent, steps=8, cfg=1.0, positive=None, negative=None, **instructions):
    """Stock KSampler with Apply Instructions (IV) inserted on the MODEL line."""
    patched = run_node("IV_ApplyInstructions", model=model, **{**SCHEDULE, **instructions}).result[0]
    return nodes.KSampler().sample(
        patched, 0, steps, cfg, "euler", "normal", positive or cond(1), negative or cond(2), {"samples": latent}
    )[0]["samples"]


def via_guider(run_node, model, latent, steps=8, cfg=1.0, positive=None, negative=None, mode="residual", **kw):
    instructions = {**SCHEDULE, **kw}
    if "paint" in instructions:
        instructions["edit"] = instructions.pop("paint")
    guider = run_node(
        "IV_ResidualBlendGuider",
        model=model,
        positive=positive or cond(1),
        negative=negative or cond(2),
        cfg=cfg,
        mode=mode,
        **instructions,
    ).result[0]
    sigmas = run_node("BasicScheduler", model=model, scheduler="normal", steps=steps, denoise=1.0).result[0]
    return run_node(
        "SamplerCustomAdvanced",
        noise=run_node("RandomNoise", noise_seed=0).result[0],
        guider=guider,
        sampler=run_node("KSamplerSelect", sampler_name="euler").result[0],
        sigmas=sigmas,
        latent_image={"samples": latent},
    ).result[0]["samples"]


ENTRIES = {"ksampler+patch": via_ksampler, "guider": via_guider}


@pytest.mark.parametrize("entry", list(ENTRIES))
@pytest.mark.parametrize("roles", COMBINATIONS, ids=ID)
def test_each_instruction_lands_through_comfyui_samplers(run_node, small_model, entry, roles):
    sc = scenes.scene()
    model = analytic(small_model, model_space(small_model, sc.video))
    out = ENTRIES[entry](run_node, model, torch.zeros(FRAMES, 4, H, W), **sc.instructions(roles))
    torch.testing.assert_close(out, sc.expected(roles), atol=1e-4, rtol=0)


@pytest.mark.parametrize("roles", [{"paint", "align"}, {"drag", "align"}, {"paint", "drag", "align"}], ids=ID)
def test_the_same_under_pia_conditioning(run_node, small_model, roles):
    """PIA's image channels in the conditioning (noise_concat) change nothing about where each role wins."""
    sc = scenes.scene()
    model = analytic(small_model, model_space(small_model, sc.video))
    concat = torch.cat([torch.ones(FRAMES, 1, H, W), model_space(small_model, sc.image).expand(FRAMES, -1, -1, -1)], 1)
    pia = {"positive": cond(1, noise_concat=concat), "negative": cond(2, noise_concat=concat)}
    for entry in ENTRIES.values():
        out = entry(run_node, model, torch.zeros(FRAMES, 4, H, W), **pia, **sc.instructions(roles))
        torch.testing.assert_close(out, sc.expected(roles), atol=1e-4, rtol=0)


def percent(model, sigma):
    """ComfyUI's sampling progress of σ for a discrete (SD1.5) schedule, written out independently: σ(t)
    interpolates log σ linearly between the 1000 training timesteps, and percent = 1 − t / 999."""
    import numpy as np

    log_sigmas = model.get_model_object("model_sampling").log_sigmas.double().numpy()
    t = float(np.interp(math.log(float(sigma.flatten()[0])), log_sigmas, np.arange(len(log_sigmas))))
    return 1.0 - t / 999.0


@pytest.mark.parametrize(
    ("curve", "start", "end"),
    [("constant", 0.3, 0.7), ("linear", 0.0, 1.0), ("cosine", 0.2, 0.9), ("constant", 0.0, 0.8)],
)
def test_every_steps_prediction_follows_the_documented_schedule(run_node, small_model, curve, start, end):
    sc = scenes.scene()
    roles = {"paint", "drag", "align"}
    model = analytic(small_model, model_space(small_model, sc.video))
    patched = run_node(
        "IV_ApplyInstructions",
        model=model,
        strength=0.8,
        start_percent=start,
        end_percent=end,
        curve=curve,
        **sc.instructions(roles),
    ).result[0]
    seen = []
    recorder = patched.clone()
    recorder.set_model_sampler_post_cfg_function(
        lambda args: seen.append((args["sigma"], args["denoised"])) or args["denoised"]
    )
    nodes.KSampler().sample(
        recorder, 0, 12, 1.0, "euler", "normal", cond(1), cond(2), {"samples": torch.zeros(FRAMES, 4, H, W)}
    )
    acted = 0
    for sigma, x0 in seen:
        p = percent(small_model, sigma)
        u = (p - start) / (end - start)
        s = (
            0.0
            if not start <= p <= end
            else {"constant": 0.8, "linear": 0.8 * (1 - u)}.get(curve, 0.4 * (1 + math.cos(math.pi * u)))
        )
        acted += s > 0
        torch.testing.assert_close(x0, model_space(small_model, sc.expected(roles, s)), atol=5e-5, rtol=0)
    assert len(seen) == 12 and (0 < acted < 12 or (start, end) == (0.0, 1.0))


def test_cfg_is_applied_before_the_instructions(run_node, small_model):
    sc = scenes.scene()
    uncond = torch.flip(sc.video, dims=(0,)) * 0.5
    model = analytic(small_model, model_space(small_model, sc.video), model_space(small_model, uncond))
    out = via_ksampler(run_node, model, torch.zeros(FRAMES, 4, H, W), cfg=3.0, strength=0.6, paint=sc.paint())
    guided = uncond + 3.0 * (sc.video - uncond)
    m = sc.paint_region
    torch.testing.assert_close(out, (1 - 0.6 * m) * guided + 0.6 * m * sc.edited(), atol=1e-4, rtol=0)


def test_video_latents_get_the_instructions_in_every_video(run_node, small_model):
    sc = scenes.scene()
    vids = torch.stack([sc.video, sc.video.flip(0)]).transpose(1, 2)  # [2, 4, F, H, W]
    model = analytic(small_model, model_space(small_model, vids))
    out = via_ksampler(run_node, model, torch.zeros_like(vids), strength=0.5, paint=sc.paint())
    m = sc.paint_region
    torch.testing.assert_close(out, (1 - 0.5 * m) * vids + 0.5 * m * sc.edited()[:, None], atol=1e-4, rtol=0)


def test_the_model_passed_in_is_not_modified_and_a_second_workflow_is_unaffected(run_node, small_model):
    sc = scenes.scene()
    model = analytic(small_model, model_space(small_model, sc.video))
    options_before = repr(model.model_options)
    via_ksampler(run_node, model, torch.zeros(FRAMES, 4, H, W), paint=sc.paint())
    via_guider(run_node, model, torch.zeros(FRAMES, 4, H, W), paint=sc.paint())
    assert repr(model.model_options) == options_before
    plain = nodes.KSampler().sample(
        model, 0, 4, 1.0, "euler", "normal", cond(1), cond(2), {"samples": torch.zeros(FRAMES, 4, H, W)}
    )
    torch.testing.assert_close(plain[0]["samples"], sc.video, atol=1e-4, rtol=0)


# ---- Eq. 4: the second prediction on PIA and on concat_latent_image models ----------------------------------


def pia_conds(model, image):
    concat = torch.cat([torch.full((FRAMES, 1, H, W), 0.8), model_space(model, image).expand(FRAMES, -1, -1, -1)], 1)
    return {"positive": cond(1, noise_concat=concat), "negative": cond(2, noise_concat=concat)}


def test_dual_makes_its_second_prediction_on_pia_with_the_moved_edited_image(run_node, small_model):
    """x̂₀ = the image channels the model receives: the first path sees PIA's image, the instruction path the
    edited image moved along the flow (its affinity channel kept); one batched call per step; at strength 1 the
    result inside the instructions' region is the instruction path's prediction."""
    sc = scenes.scene()
    calls = []
    model = analytic(small_model, lambda c_concat: c_concat[:, 1:5], calls=calls)
    roles = {"paint", "drag"}
    out = via_guider(
        run_node,
        model,
        torch.zeros(FRAMES, 4, H, W),
        steps=4,
        cfg=2.0,
        mode="dual",
        **pia_conds(small_model, sc.image),
        **sc.instructions(roles),
    )
    assert [a["input"].shape[0] for a in calls] == [4 * FRAMES] * 4
    chunks = dict(zip(calls[0]["cond_or_uncond"], calls[0]["c"]["c_concat"].split(FRAMES), strict=True))
    original = torch.cat([chunks[0], chunks[1]])  # positive, negative
    edited = torch.cat([chunks[2], chunks[3]])  # their instruction paths
    torch.testing.assert_close(original[:, 1:], model_space(small_model, sc.image).expand(2 * FRAMES, -1, -1, -1))
    moved = torch.stack([scenes.shift(sc.edited(), f) for f in range(FRAMES)])
    torch.testing.assert_close(edited[:FRAMES, 1:], model_space(small_model, moved), atol=1e-4, rtol=0)
    assert torch.equal(edited[:, :1], original[:, :1])  # the affinity channel stays
    assert float((edited[:, 1:] - original[:, 1:]).abs().max()) > 1.0  # the second prediction differs
    # The first path predicts the still image; Eq. 4 at strength 1 gives the instruction path inside the region.
    base = sc.image[0].expand(FRAMES, -1, -1, -1)
    weight = torch.stack([torch.maximum(scenes.shift(sc.paint_region, f), sc.dragged[f]) for f in range(FRAMES)])
    torch.testing.assert_close(out, base + weight[:, None] * (moved - base), atol=1e-4, rtol=0)


def test_pia_conditioning_can_carry_the_painted_image(run_node, pack):
    import comfy.sd

    from comfyui_interactivevideo.devkit import sd15

    vae = comfy.sd.VAE(sd=sd15.vae_state_dict())
    image = torch.rand(1, 64, 64, 3)
    painted = image.clone()
    painted[:, 16:40, 16:40] = torch.tensor([1.0, 0.9, 0.1])
    paint = run_node(
        "IV_PaintEncode", vae=vae, original=image, painted=painted, threshold=0.04, grow=0, feather=0
    ).result[0]
    common = {
        "positive": cond(1),
        "negative": cond(2),
        "vae": vae,
        "image": image,
        "frames": 4,
        "condition_frame": 0,
        "affinity": "animation S",
        "custom_affinity": "",
    }
    plain = run_node("IV_PIAConditioning", **common).result[0][0][1]["noise_concat"]
    with_paint = run_node("IV_PIAConditioning", paint=paint, **common).result[0][0][1]["noise_concat"]
    edited = paint.original + paint.region * (paint.painted - paint.original)
    torch.testing.assert_close(with_paint[:, 1:], (edited * 0.18215).expand(4, -1, -1, -1))
    assert torch.equal(with_paint[:, :1], plain[:, :1]) and not torch.equal(with_paint, plain)


def test_dual_on_an_inpainting_layout_model(run_node, pack):
    import comfy.model_patcher
    import comfy.supported_models

    from comfyui_interactivevideo.devkit import sd15

    config = comfy.supported_models.SD15({**sd15.unet_config(32), "in_channels": 9})
    base = comfy.model_patcher.ModelPatcher(
        config.get_model({}, "", device=torch.device("cpu")), torch.device("cpu"), torch.device("cpu")
    )
    model = analytic(base, lambda c_concat: c_concat[:, 1:5])
    sc = scenes.scene()
    image_cond = {"concat_latent_image": sc.image, "concat_mask": torch.zeros(1, H, W)}
    out = via_guider(
        run_node,
        model,
        torch.zeros(FRAMES, 4, H, W),
        steps=4,
        cfg=2.0,
        mode="dual",
        strength=0.7,
        positive=cond(1, **image_cond),
        negative=cond(2, **image_cond),
        paint=sc.paint(),
    )
    m = sc.paint_region
    expected = sc.image[0] + 0.7 * m * (sc.edited() - sc.image[0])
    torch.testing.assert_close(out, expected.expand(FRAMES, -1, -1, -1), atol=1e-4, rtol=0)


def test_dual_without_image_conditioning_says_so_and_runs_residual(run_node, small_model, caplog):
    sc = scenes.scene()
    model = analytic(small_model, model_space(small_model, sc.video))
    with caplog.at_level(logging.WARNING):
        out = via_guider(run_node, model, torch.zeros(FRAMES, 4, H, W), mode="dual", paint=sc.paint())
    assert "runs as 'residual'" in caplog.text
    torch.testing.assert_close(out, sc.expected({"paint"}), atol=1e-4, rtol=0)


def test_dual_with_an_image_latent_the_model_ignores_says_so_and_runs_residual(run_node, small_model, caplog):
    sc = scenes.scene()
    model = analytic(small_model, model_space(small_model, sc.video))  # 4 input channels: no concat input
    image_cond = {"concat_latent_image": sc.image}
    with caplog.at_level(logging.WARNING):
        out = via_guider(
            run_node,
            model,
            torch.zeros(FRAMES, 4, H, W),
            mode="dual",
            paint=sc.paint(),
            positive=cond(1, **image_cond),
            negative=cond(2, **image_cond),
        )
    assert "does not take image conditioning" in caplog.text
    torch.testing.assert_close(out, sc.expected({"paint"}), atol=1e-4, rtol=0)


# ---- roles and errors --------------------------------------------------------------------------------------


def test_roles_have_their_own_types(pack):
    info = {cls.GET_SCHEMA().node_id: cls.GET_NODE_INFO_V1() for cls in pack.nodes.NODES}
    assert info["IV_PaintEncode"]["output"][0] == "IV_PAINT"
    assert info["IV_ImageAlign"]["output"][0] == "IV_ALIGN"
    for node, paint in (("IV_ApplyInstructions", "paint"), ("IV_ResidualBlendGuider", "edit"), ("IV_Sampler", "edit")):
        optional = info[node]["input"]["optional"]
        assert optional[paint][0] == "IV_PAINT" and optional["align"][0] == "IV_ALIGN", node
        assert optional["flow"][0] == "IV_FLOW" and optional["image"][0] == "LATENT", node


def test_clear_errors(run_node, small_model):
    sc = scenes.scene()
    model = analytic(small_model, model_space(small_model, sc.video))
    with pytest.raises(ValueError, match="VAE Encode"):
        run_node("IV_ApplyInstructions", model=model, flow=sc.flow(), **SCHEDULE)
    with pytest.raises(ValueError, match="must be an IV_ALIGN"):
        run_node("IV_ApplyInstructions", model=model, align=sc.paint(), **SCHEDULE)
    with pytest.raises(ValueError, match="must be an IV_PAINT"):
        run_node("IV_ApplyInstructions", model=model, paint=sc.align(), **SCHEDULE)
    with pytest.raises(ValueError, match="encode the images at the video's size"):
        via_ksampler(run_node, small_model, torch.zeros(FRAMES, 4, 8, 8), steps=1, paint=sc.paint())
    with pytest.raises(ValueError, match="3 frames but the latent has 4"):
        align = Align(image=sc.image, affinity=torch.ones(3))
        via_ksampler(run_node, model, torch.zeros(FRAMES, 4, H, W), align=align)
    with pytest.raises(ValueError, match="start_percent"):
        run_node(
            "IV_ApplyInstructions",
            model=model,
            paint=sc.paint(),
            **{**SCHEDULE, "start_percent": 0.9, "end_percent": 0.2},
        )


# ---- the defaults ------------------------------------------------------------------------------------------


def test_the_default_schedule_lands_and_leaves_the_last_steps_to_the_model(run_node, small_model, pack):
    """Under the exact denoiser of unit-spread Gaussian data (what early steps do carries to the end, and the model
    pulls back toward its own mean at every σ it is left alone), the default schedule makes three quarters of the
    instructed change inside the paint, in its direction (measured 0.751 along it, 0.15 of it across, at 20 steps;
    0.88 / 0.09 with end 0.9, 0.99 / 0.02 with 0.95), and the last steps' predictions are the model's own.
    Controls: twice the change, or a change of that size toward another image, fall outside the bounds; the old
    defaults (strength 0.5 to the end) act at every step."""
    from comfyui_interactivevideo.core.blend import DEFAULT_SCHEDULE

    sc = scenes.scene()
    model = gaussian(small_model, model_space(small_model, sc.video))
    inside = sc.paint_region.bool()

    def run(schedule):
        before, after = [], []
        recorded = model.clone()
        recorded.set_model_sampler_post_cfg_function(lambda a: before.append(a["denoised"]) or a["denoised"])
        patched = run_node("IV_ApplyInstructions", model=recorded, paint=sc.paint(), **schedule).result[0]
        patched.set_model_sampler_post_cfg_function(lambda a: after.append(a["denoised"]) or a["denoised"])
        latent = {"samples": torch.zeros(FRAMES, 4, H, W)}
        out = nodes.KSampler().sample(patched, 3, 20, 1.0, "euler", "normal", cond(1), cond(2), latent)[0]["samples"]
        return out, [not torch.equal(x, y) for x, y in zip(before, after, strict=True)]

    plain, _ = run({**SCHEDULE, "strength": 0.0})
    d = DEFAULT_SCHEDULE
    out, acted = run({"strength": d.strength, "start_percent": d.start, "end_percent": d.end, "curve": d.curve})
    target = sc.edited()
    along, across = scenes.change_made(out, plain, target, inside)
    assert 0.7 <= along <= 1.0 and across <= 0.25, (along, across)
    assert scenes.change_made(2 * out - plain, plain, target, inside)[0] > 1.0
    elsewhere = (
        plain
        + (sc.image[0] - plain) * (target - plain)[:, :, inside].norm() / (sc.image[0] - plain)[:, :, inside].norm()
    )
    assert scenes.change_made(elsewhere, plain, target, inside)[1] > 0.25
    assert acted[0] and not any(acted[-3:])  # the model alone refines the last steps
    # Control: the old defaults (strength 0.5 to the end) make every step's prediction, the last included, a
    # latent average of the model's and the target.
    _, old_acted = run({"strength": 0.5, "start_percent": 0.0, "end_percent": 1.0, "curve": "constant"})
    assert all(old_acted)
