"""The motion module's added cost, ours vs diffusers': 16 frames at 256² (32×32 latent), fp32, CPU.

(a) ComfyUI's SD1.5 UNet, (b) the same with this pack's v3 motion module (IV_ApplyAnimateDiff), (c) diffusers'
UNet2DConditionModel, (d) diffusers' UNetMotionModel — identical random weights and inputs. A "step" here is one
UNet evaluation of the 16-frame clip (CFG doubles it on every side alike). Targets: b/a ≤ d/c in time and in
peak memory (growth of peak RSS during the step); b/d reported too. Each case runs alone in a fresh process
(one model in memory at a time), timed over one step.
"""

from __future__ import annotations

import gc
import multiprocessing as mp
import resource
import time

import torch
from harness import Report

FRAMES, LATENT, SEED, MM_SEED = 16, 32, 0, 7


def _inputs():
    g = torch.Generator().manual_seed(1)
    return torch.randn(FRAMES, 4, LATENT, LATENT, generator=g), torch.randn(1, 77, 768, generator=g)


def _boot():
    """Boot ComfyUI in-process; in a spawned child, first drop the ``comfy/`` folder the parent's ``nodes``
    import put on sys.path (it shadows ComfyUI's top-level ``utils`` package that booting imports)."""
    import os
    import sys

    from ivtest import comfy_env
    from ivtest.paths import comfy_root

    if "nodes" not in sys.modules:
        shadow = os.path.realpath(comfy_root() / "comfy")
        sys.path[:] = [p for p in sys.path if os.path.realpath(p or ".") != shadow]
    return comfy_env.boot()


def _comfy(with_motion: bool):
    from ivtest import animatediff as ad
    from ivtest import sd15

    pack = _boot()
    import comfy.model_management

    ci = pack.nodes.comfy_internals
    mm = pack.core.motion_module
    model = sd15.build_model(seed=SEED)
    if with_motion:
        weights = mm.motion_module_from_state_dict(ad.state_dict("v3_sd15_mm", seed=MM_SEED), "v3")
        model = ci.apply_motion_module(model, weights, 1.0, 1.0, "keep model's")
    comfy.model_management.load_models_gpu([model])
    x, ctx = _inputs()
    t = torch.full((FRAMES,), 500.0)
    options = {**model.model_options["transformer_options"], "cond_or_uncond": [0]}

    @torch.no_grad()
    def step():
        return model.model.diffusion_model(
            x, timesteps=t, context=ctx.expand(FRAMES, -1, -1), transformer_options=options
        )

    return step


def _diffusers(with_motion: bool):
    from ivtest import animatediff as ad
    from ivtest import sd15

    _boot()  # only to generate the weights: ivtest takes the SD1.5 key names from ComfyUI's own modules

    x, ctx = _inputs()
    if with_motion:
        unet = ad.diffusers_unet_motion(sd15.unet_state_dict(SEED), ad.state_dict("v3_sd15_mm", seed=MM_SEED))
        sample, context = x.permute(1, 0, 2, 3)[None], ctx.expand(FRAMES, -1, -1)
    else:
        from diffusers import UNet2DConditionModel
        from diffusers.loaders.single_file_utils import convert_ldm_unet_checkpoint

        with torch.device("meta"):
            unet = UNet2DConditionModel(sample_size=64, cross_attention_dim=768)
        sd = {f"model.diffusion_model.{k}": v for k, v in sd15.unet_state_dict(SEED).items()}
        unet.load_state_dict(convert_ldm_unet_checkpoint(sd, unet.config), strict=True, assign=True)
        unet.eval()
        sample, context = x, ctx.expand(FRAMES, -1, -1)
    t = torch.tensor(500.0)

    @torch.no_grad()
    def step():
        return unet(sample, t, encoder_hidden_states=context).sample

    return step


def comfy_plain():
    return _comfy(False)


def comfy_motion():
    return _comfy(True)


def diffusers_plain():
    return _diffusers(False)


def diffusers_motion():
    return _diffusers(True)


CASES = {"a": comfy_plain, "b": comfy_motion, "c": diffusers_plain, "d": diffusers_motion}


def _measure_child(conn, factory):
    fn = factory()
    gc.collect()
    # Building a model peaks above what running it needs (state dict + module side by side); reset the
    # high-water mark (Linux clear_refs 5) so the figure is the step's own growth, not the build's.
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t = time.perf_counter()
    fn()
    seconds = time.perf_counter() - t
    conn.send((seconds, (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024))
    conn.close()


def measure(factory) -> tuple[float, int]:
    """(seconds, peak-RSS growth in bytes) of one step, in a fresh process with only that model built.

    One step per case: a 16-frame SD1.5 step at 256² takes about a minute on two CPU cores.
    """
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_measure_child, args=(child, factory))
    proc.start()
    try:
        if not parent.poll(3600):
            raise TimeoutError("benchmark case did not finish within an hour")
        return parent.recv()
    finally:
        proc.join()


def run() -> Report:
    seconds, memory = {}, {}
    for key, factory in CASES.items():
        seconds[key], memory[key] = measure(factory)
        print(f"  ({key}: {seconds[key]:.2f} s/step, +{memory[key] / 2**20:.0f} MiB peak)", flush=True)
    report = Report(f"AnimateDiff v3 motion module: {FRAMES} frames, 256x256, fp32, CPU (one 16-frame UNet step)")
    ad_time, ref_time = seconds["b"] / seconds["a"], seconds["d"] / seconds["c"]
    ad_mem, ref_mem = memory["b"] / memory["a"], memory["d"] / memory["c"]
    report.ratio("time (b) pack+motion / (a) ComfyUI UNet", seconds["b"], "a", seconds["a"])
    report.ratio("time (d) diffusers UNetMotionModel / (c) UNet2DConditionModel", seconds["d"], "c", seconds["c"])
    report.ratio("time added: (b/a) / (d/c)", ad_time, "d/c", ref_time, unit="x", target=1.0)
    report.ratio("memory (b) / (a)", memory["b"] / 2**20, "a", memory["a"] / 2**20, unit="MiB")
    report.ratio("memory (d) / (c)", memory["d"] / 2**20, "c", memory["c"] / 2**20, unit="MiB")
    report.ratio("memory added: (b/a) / (d/c)", ad_mem, "d/c", ref_mem, unit="x", target=1.0)
    report.ratio("time (b) / (d) diffusers", seconds["b"], "d", seconds["d"])
    report.ratio("memory (b) / (d) diffusers", memory["b"] / 2**20, "d", memory["d"] / 2**20, unit="MiB")
    print("  GPU timing (16 frames, 512x512, 25 steps) not taken: no GPU is lent to this task.")
    return report
