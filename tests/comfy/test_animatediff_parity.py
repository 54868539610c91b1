"""Parity with diffusers, the reference implementation of AnimateDiff and PIA.

The same random SD1.5 UNet (original-format weights) and a random motion module with exactly the real file's
keys and shapes (v2 and PIA manifests) run through this pack in ComfyUI and through diffusers'
``UNetMotionModel`` (weights converted by diffusers' own helpers). One UNet forward on an 8-frame latent (8×8
cells, 64 px) with cond and uncond batched as two clips, and one full CFG Euler step, must agree within 1e-3
(fp32; measured 3e-6 and 2e-4). v3's file is v2's without the mid block and PIA's without its conv_in, so these
two cases hold every layer v3 has.

Full-size models: each case holds ≈ 5–7 GiB at its peak, the UNet's random weights (3.4 GB, drawn once for the
module) included; the ComfyUI side is computed and freed before diffusers' side is built.
"""

import gc
from pathlib import Path

import comfy.model_management
import comfy.samplers
import folder_paths
import pytest
import torch

from comfyui_interactivevideo.devkit import animatediff as ad
from comfyui_interactivevideo.devkit import sd15

pytestmark = pytest.mark.slow

FRAMES, SIZE, CFG = 8, 8, 7.5
UNET_SEED = 0
# Two sigmas of the 1000-step grid below sigma_max, so neither side rescales the initial noise differently.
T_FROM, T_TO = 799, 599


def _inputs(pia: bool):
    g = torch.Generator().manual_seed(5)
    return {
        "x": torch.randn(2 * FRAMES, 4, SIZE, SIZE, generator=g),  # frames 0-15 cond clip, 16-31 uncond clip
        "noise": torch.randn(FRAMES, 4, SIZE, SIZE, generator=g),
        "cond": torch.randn(1, 77, 768, generator=g),
        "uncond": torch.randn(1, 77, 768, generator=g),
        # PIA's extra channels: per-frame affinity mask and the (model-scaled) image latent of every frame.
        "concat": torch.cat(
            [
                torch.linspace(1.0, 0.5, FRAMES).view(FRAMES, 1, 1, 1).expand(FRAMES, 1, SIZE, SIZE),
                torch.randn(1, 4, SIZE, SIZE, generator=g).expand(FRAMES, 4, SIZE, SIZE),
            ],
            dim=1,
        )
        if pia
        else None,
    }


@pytest.fixture(scope="module")
def unet():
    """The random UNet's weights (LDM naming), drawn once: both sides of both cases hold these values."""
    return sd15.unet_state_dict(UNET_SEED)


def _comfy_side(run_node, unet: dict, motion: dict, inp: dict, tmp_name: str):
    """UNet forward and one CFG Euler step through the pack's nodes in ComfyUI."""
    folder = folder_paths.get_folder_paths("animatediff_models")[0]
    path = ad.save(motion, Path(folder) / tmp_name)
    base = sd15.build_model(state=unet)
    weights = run_node("IV_LoadMotionModule", motion_module=tmp_name).result[0]
    model = run_node(
        "IV_ApplyAnimateDiff",
        model=base,
        motion_module=weights,
        beta_schedule="auto",
        motion_scale=1.0,
        effect=1.0,
    ).result[0]
    ms = model.get_model_object("model_sampling")
    t = torch.tensor(float(T_FROM))
    context = torch.cat([inp["cond"].expand(FRAMES, -1, -1), inp["uncond"].expand(FRAMES, -1, -1)])
    # Frame by frame, before the clone's patches are put on the shared UNet: what the motion module changes.
    plain = base.model.diffusion_model(inp["x"], timesteps=t.expand(2 * FRAMES), context=context)
    comfy.model_management.load_models_gpu([model])
    x = inp["x"] if inp["concat"] is None else torch.cat([inp["x"], inp["concat"].repeat(2, 1, 1, 1)], dim=1)
    options = {**model.model_options["transformer_options"], "cond_or_uncond": [0, 1]}
    eps = model.model.diffusion_model(x, timesteps=t.expand(2 * FRAMES), context=context, transformer_options=options)

    def conditioning(c):
        extra = {} if inp["concat"] is None else {"noise_concat": inp["concat"]}
        return [[c, extra]]

    guider = comfy.samplers.CFGGuider(model)
    guider.set_conds(conditioning(inp["cond"]), conditioning(inp["uncond"]))
    guider.set_cfg(CFG)
    sigmas = torch.stack([ms.sigmas[T_FROM], ms.sigmas[T_TO]]).float()
    step = guider.sample(
        inp["noise"], torch.zeros_like(inp["noise"]), comfy.samplers.sampler_object("euler"), sigmas, seed=0
    )
    step = model.model.process_latent_in(step)  # back into the model's latent space, where diffusers works
    comfy.model_management.unload_all_models()
    path.unlink()
    return eps, step, sigmas, plain


def _diffusers_side(unet_ldm: dict, motion: dict, inp: dict, sigmas: torch.Tensor):
    from diffusers import EulerDiscreteScheduler

    unet = ad.diffusers_unet_motion(unet_ldm, motion)

    def forward(latents_bcfhw, t):
        context = torch.cat([inp["cond"], inp["uncond"]]).repeat_interleave(FRAMES, dim=0)  # [B·F, 77, 768]
        if inp["concat"] is not None:
            concat = inp["concat"].permute(1, 0, 2, 3)[None].expand(2, -1, -1, -1, -1)
            latents_bcfhw = torch.cat([latents_bcfhw, concat], dim=1)  # [noisy 4, mask 1, image 4]
        return unet(latents_bcfhw, t, encoder_hidden_states=context).sample

    x = inp["x"].view(2, FRAMES, 4, SIZE, SIZE).permute(0, 2, 1, 3, 4)
    eps = forward(x, torch.tensor(float(T_FROM))).permute(0, 2, 1, 3, 4).reshape(2 * FRAMES, 4, SIZE, SIZE)

    sched = EulerDiscreteScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="linear")
    sched.set_timesteps(sigmas=[float(sigmas[0]), float(sigmas[1])])
    t = sched.timesteps[0]
    latents = (inp["noise"] * sigmas[0]).permute(1, 0, 2, 3)[None]  # [1, C, F, H, W]
    model_in = sched.scale_model_input(latents.expand(2, -1, -1, -1, -1), t)
    cond, uncond = forward(model_in, t).chunk(2)
    guided = uncond + CFG * (cond - uncond)
    step = sched.step(guided, t, latents).prev_sample[0].permute(1, 0, 2, 3)
    return eps, step, sched.sigmas[:2]


@pytest.mark.parametrize("name", ["mm_sd_v15_v2", "pia"])
def test_unet_forward_and_sampler_step_match_diffusers(run_node, unet, name):
    motion = ad.state_dict(name, seed=11)
    inp = _inputs(pia=name == "pia")
    eps_c, step_c, sigmas, plain = _comfy_side(run_node, unet, motion, inp, f"parity_{name}.safetensors")
    gc.collect()
    eps_d, step_d, sigmas_d = _diffusers_side(unet, motion, inp, sigmas)

    # The schedules agree (AnimateDiff's betas: ComfyUI's sqrt_linear is diffusers' linear).
    assert torch.allclose(sigmas_d.float(), sigmas, rtol=1e-5)
    assert eps_c.shape == eps_d.shape == (2 * FRAMES, 4, SIZE, SIZE)
    # The motion module matters here: the answer differs from the frame-by-frame UNet by far more than 1e-3.
    assert (eps_c - plain).abs().max() > 0.1
    print(f"{name}: forward max|Δ| {(eps_c - eps_d).abs().max():.2e}, step max|Δ| {(step_c - step_d).abs().max():.2e}")
    assert (eps_c - eps_d).abs().max() < 1e-3, (eps_c - eps_d).abs().max()
    assert (step_c - step_d).abs().max() < 1e-3, (step_c - step_d).abs().max()
