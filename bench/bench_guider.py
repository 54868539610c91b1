"""Seconds per sampling step: the instructions as a model patch (Apply Instructions (IV), what stock KSampler runs)
and through IV_ResidualBlendGuider (residual, dual), against a plain step (core CFGGuider on the same model, which
is what KSampler runs).

Same model, latent, sampler and sigmas for all, measured in interleaved rounds (plain, patch, residual, dual,
plain, ...) so a busy machine slows all of them alike; the figure is the median over rounds. The model is the
full-width SD1.5 UNet (320 channels, the cached random checkpoint, fp16 weights computed in fp32) in the
inpainting layout (9 input channels), so it has image-latent conditioning and `dual` runs its real second path;
the UNet dominates the step, as it does in real use.
"""

import statistics
import time

import torch
from harness import Report

FRAMES, H, W, STEPS, ROUNDS = 4, 16, 16, 3, 4


def inpaint_unet():
    """The checkpoint's UNet with a 9-channel input conv (SD1.5 inpainting layout), fp16 weights."""
    import comfy.sd
    from safetensors import safe_open

    from comfyui_interactivevideo.devkit import sd15

    prefix = "model.diffusion_model."
    with safe_open(str(sd15.checkpoint_file()), framework="pt") as f:
        state = {k: f.get_tensor(k) for k in f.keys() if k.startswith(prefix)}
    key = prefix + "input_blocks.0.0.weight"
    gen = torch.Generator().manual_seed(0)
    state[key] = (torch.randn(320, 9, 3, 3, generator=gen) / (9 * 9) ** 0.5).half()
    return comfy.sd.load_diffusion_model_state_dict(state, model_options={"dtype": torch.float16})


def run() -> Report:
    from comfyui_interactivevideo.devkit import comfy_env

    comfy_env.boot()
    import comfy.samplers

    from comfyui_interactivevideo.core.alignment import frame_affinity
    from comfyui_interactivevideo.core.blend import Schedule
    from comfyui_interactivevideo.core.flow import Flow
    from comfyui_interactivevideo.core.instructions import Align, Paint
    from comfyui_interactivevideo.nodes.comfy_internals import InstructionPlan, ResidualBlendGuider, apply_instructions

    torch.set_grad_enabled(False)
    model = inpaint_unet()
    gen = torch.Generator().manual_seed(1)
    image = torch.randn(1, 4, H, W, generator=gen) * 4
    cond = [
        [torch.randn(1, 77, 768, generator=gen), {"concat_latent_image": image, "concat_mask": torch.zeros(1, H, W)}]
    ]
    uncond = [
        [torch.randn(1, 77, 768, generator=gen), {"concat_latent_image": image, "concat_mask": torch.zeros(1, H, W)}]
    ]
    mask = torch.zeros(1, 1, H, W)
    mask[..., 4:12, 4:12] = 1
    paint = Paint(original=image, painted=torch.randn(1, 4, H, W, generator=gen) * 4, region=mask)
    flow = torch.zeros(FRAMES, H * 8, W * 8, 2)
    flow[..., 0] = -8.0 * torch.arange(FRAMES).view(FRAMES, 1, 1)
    weight = torch.zeros(FRAMES, H * 8, W * 8)
    weight[:, 32:96, 32:96] = 1
    motion = Flow(flow, weight)
    latent = torch.zeros(FRAMES, 4, H, W)
    noise = torch.randn(latent.shape, generator=gen)
    sigmas = comfy.samplers.calculate_sigmas(model.get_model_object("model_sampling"), "normal", STEPS)
    sampler = comfy.samplers.sampler_object("euler")

    instructions = {"paints": [paint], "flow": motion, "align": Align(image, frame_affinity(FRAMES, 0, (1.0, 0.8)))}
    patched = apply_instructions(model, InstructionPlan(instructions, Schedule(1.0)))

    def guider(kind):
        if kind in ("plain", "patch"):
            g = comfy.samplers.CFGGuider(model if kind == "plain" else patched)
        else:
            plan = InstructionPlan(instructions, Schedule(1.0))
            g = ResidualBlendGuider(model, plan, dual=kind == "dual")
        g.set_conds(cond, uncond)
        g.set_cfg(7.0)
        return g

    def step_seconds(kind):
        g = guider(kind)
        t = time.perf_counter()
        g.sample(noise, latent, sampler, sigmas, disable_pbar=True, seed=0)
        return (time.perf_counter() - t) / STEPS

    kinds = ("plain", "patch", "residual", "dual")
    for kind in kinds:  # warm-up: first-call allocations and caches
        step_seconds(kind)
    times = {k: [] for k in kinds}
    for _ in range(ROUNDS):
        for kind in kinds:
            times[kind].append(step_seconds(kind))
    med = {k: statistics.median(v) for k, v in times.items()}
    report = Report(
        f"guider: seconds per Euler step, SD1.5 UNet width 320 (inpainting layout), {FRAMES} frames x {H}x{W} "
        f"latent, cfg 7, paint + drag + align, median of {ROUNDS} interleaved rounds of {STEPS} steps"
    )
    report.ratio("Apply Instructions (model patch)", med["patch"], "plain step", med["plain"], "s/step", target=1.02)
    report.ratio("IV_ResidualBlendGuider residual", med["residual"], "plain step", med["plain"], "s/step", target=1.02)
    report.ratio("IV_ResidualBlendGuider dual", med["dual"], "plain step", med["plain"], "s/step", target=2.05)
    return report
