"""A native Wan sampling step with the instructions against a plain one: seconds per Euler step and peak memory,
for the residual and the region clock (Apply Instructions (IV) on the MODEL line, what stock KSampler runs).

The model is a small random Wan 2.1 DiT in the I2V layout (devkit.wan: dim 128, 2 blocks, loaded by ComfyUI's own
detection) on a 5-D latent [1, 16, T, h, w], conditioned as WanImageToVideo conditions it (image latent and mask
channels), cfg 5, paint + drag + align over the video's pixel frames, mapped to latent frames by the causal
layout. Cases take turns in interleaved rounds so a busy machine slows all alike; the figure is the median. Peak
memory is what one more step allocates at its peak (harness.peak_allocated_bytes): the model's weights and the
instructions' target, composed once per run, exist before the step and are not counted; a per-step copy of the
latent would be.
"""

import statistics
import time

import torch
from harness import Report, peak_allocated_bytes

T, H, W, STEPS, ROUNDS = 6, 30, 52, 3, 4
PIXEL_FRAMES = 4 * (T - 1) + 1


def run() -> Report:
    from comfyui_interactivevideo.devkit import comfy_env

    comfy_env.boot()
    import comfy.samplers

    from comfyui_interactivevideo.core.alignment import frame_affinity
    from comfyui_interactivevideo.core.blend import RegionClock, Schedule
    from comfyui_interactivevideo.core.flow import Flow
    from comfyui_interactivevideo.core.instructions import Align, Paint
    from comfyui_interactivevideo.devkit import wan
    from comfyui_interactivevideo.nodes.comfy_internals import InstructionPlan, apply_instructions

    torch.set_grad_enabled(False)
    model = wan.build_wan("i2v", seed=0)
    gen = torch.Generator().manual_seed(1)
    codes = torch.randn(3, 16, H, W, generator=gen)
    image = torch.randn(1, 16, T, H, W, generator=gen)
    extra = {"concat_latent_image": image, "concat_mask": torch.ones(1, 1, T, H, W)}
    cond = [[wan.text_conditioning("a cat walks")[0][0], dict(extra)]]
    uncond = [[wan.text_conditioning("")[0][0], dict(extra)]]
    region = torch.zeros(1, 1, H, W)
    region[..., 8:20, 10:30] = 1
    paint = Paint(original=codes, painted=torch.randn(3, 16, H, W, generator=gen), region=region)
    flow = torch.zeros(PIXEL_FRAMES, H * 8, W * 8, 2)
    flow[..., 0] = -2.0 * torch.arange(PIXEL_FRAMES).view(PIXEL_FRAMES, 1, 1)
    weight = torch.zeros(PIXEL_FRAMES, H * 8, W * 8)
    weight[:, 64:160, 80:240] = 1
    instructions = {
        "paints": [paint],
        "flow": Flow(flow, weight),
        "align": Align(codes, frame_affinity(PIXEL_FRAMES, 0, (1.0, 0.8, 0.7))),
    }
    latent = torch.zeros(1, 16, T, H, W)
    noise = torch.randn(latent.shape, generator=gen)
    sigmas = comfy.samplers.calculate_sigmas(model.get_model_object("model_sampling"), "simple", STEPS)
    sampler = comfy.samplers.sampler_object("euler")
    models = {
        "plain": model,
        "residual": apply_instructions(model, InstructionPlan(instructions, Schedule(1.0))),
        "region clock": apply_instructions(
            model, InstructionPlan(instructions, Schedule(1.0, 0.0, 0.5), clock=RegionClock(0.9))
        ),
    }

    def sample(kind, steps=STEPS):
        g = comfy.samplers.CFGGuider(models[kind])
        g.set_conds(cond, uncond)
        g.set_cfg(5.0)
        return g.sample(noise, latent, sampler, sigmas[: steps + 1], disable_pbar=True, seed=0)

    def step_seconds(kind):
        t = time.perf_counter()
        sample(kind)
        return (time.perf_counter() - t) / STEPS

    for kind in models:  # warm-up: first-call allocations, and each plan composes its target once
        step_seconds(kind)
    times = {k: [] for k in models}
    for _ in range(ROUNDS):
        for kind in models:
            times[kind].append(step_seconds(kind))
    med = {k: statistics.median(v) for k, v in times.items()}
    peak = {k: peak_allocated_bytes(lambda k=k: sample(k, 1)) for k in models}
    report = Report(
        f"wan: one Euler step of a small Wan 2.1 I2V DiT (dim 128, 2 blocks) on [1, 16, {T}, {H}, {W}] "
        f"({PIXEL_FRAMES} frames of {W * 8}x{H * 8}), cfg 5, paint + drag + align, median of {ROUNDS} interleaved "
        f"rounds of {STEPS} steps; peak memory of one more step"
    )
    report.ratio("residual (Apply Instructions)", med["residual"], "plain step", med["plain"], "s/step", target=1.05)
    report.ratio("region clock", med["region clock"], "plain step", med["plain"], "s/step", target=1.05)
    mib = 2**20
    report.ratio("residual peak memory", peak["residual"] / mib, "plain step", peak["plain"] / mib, "MiB", target=1.0)
    report.ratio(
        "region clock peak memory", peak["region clock"] / mib, "plain step", peak["plain"] / mib, "MiB", target=1.0
    )
    return report
