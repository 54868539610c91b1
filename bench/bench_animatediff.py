"""The motion module's added cost, ours vs diffusers': 16 frames at 256² (32×32 latent), fp32, CPU.

(a) ComfyUI's SD1.5 UNet, (b) the same with this pack's v3 motion module (IV_ApplyAnimateDiff), (c) diffusers'
UNet2DConditionModel, (d) diffusers' UNetMotionModel — identical random weights and inputs. A "step" here is one
UNet evaluation of the 16-frame clip (CFG doubles it on every side alike). Targets: b/a ≤ d/c in time and in
peak memory; b/d reported too. Two fresh processes, one per library, each holding one copy of the weights
that both of its cases use; the four cases take turns step by step (``harness.measure_interleaved``): one
untimed warm-up round, the median of REPEATS timed steps, then one step for memory: the peak of bytes held by
the tensors the step allocates (``harness.peak_allocated_bytes``), i.e. the activations at their widest.
(b1) and (d1), reported without a target, are the first (320-channel, widest) motion module alone, ours and
diffusers', on the same [16, 320, 32, 32] input: the module's own cost where a UNet's peak would hide it.
"""

from __future__ import annotations

import torch
from harness import Case, Report, measure_interleaved

FRAMES, LATENT, SEED, MM_SEED = 16, 32, 0, 7
REPEATS = 3  # timed steps per case, after one untimed warm-up step


def _inputs():
    g = torch.Generator().manual_seed(1)
    return torch.randn(FRAMES, 4, LATENT, LATENT, generator=g), torch.randn(1, 77, 768, generator=g)


def _hidden():
    """What the first motion module receives: [F, 320, h, w] at the latent's resolution."""
    return torch.randn(FRAMES, 320, LATENT, LATENT, generator=torch.Generator().manual_seed(2))


def _boot():
    """Boot ComfyUI in-process (also in a spawned child, which inherits the parent's module search path)."""
    from comfyui_interactivevideo.devkit import comfy_env

    return comfy_env.boot()


def comfy_cases() -> dict[str, Case]:
    """(a) and (b) on one ComfyUI UNet: (b) is IV_ApplyAnimateDiff's clone, whose patches ComfyUI puts on and
    takes off when either model is loaded, as it does for two branches of one workflow."""
    from comfyui_interactivevideo.devkit import animatediff as ad
    from comfyui_interactivevideo.devkit import sd15

    pack = _boot()
    import comfy.model_management

    plain = sd15.build_model(seed=SEED)
    weights = pack.core.motion_module_from_state_dict(ad.state_dict("v3_sd15_mm", seed=MM_SEED), "v3")
    motion = pack.nodes.comfy_internals.apply_motion_module(plain, weights, 1.0, 1.0, "keep model's")
    x, ctx = _inputs()
    t = torch.full((FRAMES,), 500.0)
    outputs: dict[str, torch.Tensor] = {}

    def case(key, model):
        options = {**model.model_options["transformer_options"], "cond_or_uncond": [0]}

        @torch.no_grad()
        def step():
            out = model.model.diffusion_model(
                x, timesteps=t, context=ctx.expand(FRAMES, -1, -1), transformer_options=options
            )
            # (a) runs again after (b): the same result proves (b)'s patches came off, and a different (b)
            # that they were on, so neither figure timed the other model.
            if key in outputs and not torch.equal(out, outputs[key]):
                raise RuntimeError(f"case {key}: the UNet's result changed between steps: patches leaked")
            outputs[key] = out
            if len(outputs) == 2 and torch.equal(outputs["a"], outputs["b"]):
                raise RuntimeError("case b gave case a's result: the motion module was not applied")

        return Case(step, prepare=lambda: comfy.model_management.load_models_gpu([model]))

    widest = motion.object_patches["diffusion_model.input_blocks.1"][-1]  # the 320-channel motion module
    hidden = _hidden()
    return {"a": case("a", plain), "b": case("b", motion), "b1": Case(torch.no_grad()(lambda: widest(hidden)))}


def diffusers_cases() -> dict[str, Case]:
    """(c) and (d): diffusers' UNet2DConditionModel and UNetMotionModel holding the same weight tensors."""
    from diffusers import UNet2DConditionModel

    from comfyui_interactivevideo.devkit import animatediff as ad
    from comfyui_interactivevideo.devkit import sd15

    _boot()  # only to generate the weights: the devkit takes the SD1.5 key names from ComfyUI's own modules

    motion = ad.diffusers_unet_motion(sd15.unet_state_dict(SEED), ad.state_dict("v3_sd15_mm", seed=MM_SEED))
    with torch.device("meta"):
        plain = UNet2DConditionModel(sample_size=64, cross_attention_dim=768)
    # Outside the motion modules UNetMotionModel keeps UNet2DConditionModel's names: share its tensors.
    shared = {k: v for k, v in motion.state_dict().items() if "motion_modules" not in k}
    plain.load_state_dict(shared, strict=True, assign=True)
    plain.eval()
    x, ctx = _inputs()
    context, t = ctx.expand(FRAMES, -1, -1), torch.tensor(500.0)

    @torch.no_grad()
    def step_plain():
        return plain(x, t, encoder_hidden_states=context).sample

    @torch.no_grad()
    def step_motion():  # diffusers takes the clip as [B, C, F, H, W] and the context repeated per frame
        return motion(x.permute(1, 0, 2, 3)[None], t, encoder_hidden_states=context).sample

    widest, hidden = motion.down_blocks[0].motion_modules[0], _hidden()
    return {
        "c": Case(step_plain),
        "d": Case(step_motion),
        "d1": Case(torch.no_grad()(lambda: widest(hidden, num_frames=FRAMES))),
    }


def run() -> Report:
    m = measure_interleaved(
        {"comfy": comfy_cases, "diffusers": diffusers_cases},
        ["a", "b", "c", "d", "b1", "d1"],
        repeats=REPEATS,
        warmup=1,
    )
    for key, r in m.items():
        steps = ", ".join(f"{t:.2f}" for t in r.times)
        print(
            f"  ({key}: median {r.seconds:.2f} s/step of [{steps}], peak +{r.peak_bytes / 2**20:.0f} MiB = {r.peak_bytes} B)"
        )
    seconds = {k: r.seconds for k, r in m.items()}
    memory = {k: r.peak_bytes for k, r in m.items()}
    report = Report(f"AnimateDiff v3 motion module: {FRAMES} frames, 256x256, fp32, CPU (one 16-frame UNet step)")
    ad_time, ref_time = seconds["b"] / seconds["a"], seconds["d"] / seconds["c"]
    ad_mem, ref_mem = memory["b"] / memory["a"], memory["d"] / memory["c"]
    report.ratio("time (b) pack+motion / (a) ComfyUI UNet", seconds["b"], "a", seconds["a"])
    report.ratio("time (d) diffusers UNetMotionModel / (c) UNet2DConditionModel", seconds["d"], "c", seconds["c"])
    report.ratio("time added: (b/a) / (d/c)", ad_time, "d/c", ref_time, unit="x", target=1.0)
    report.ratio("memory (b) / (a)", memory["b"] / 2**20, "a", memory["a"] / 2**20, unit="MiB")
    report.ratio("memory (d) / (c)", memory["d"] / 2**20, "c", memory["c"] / 2**20, unit="MiB")
    report.ratio("memory added: (b/a) / (d/c)", ad_mem, "d/c", ref_mem, unit="x", target=1.0)
    print(
        f"  (memory the motion modules add to the step's peak: ours {memory['b'] - memory['a']:+d} B, "
        f"diffusers' {memory['d'] - memory['c']:+d} B)"
    )
    report.ratio("time (b) / (d) diffusers", seconds["b"], "d", seconds["d"])
    report.ratio("memory (b) / (d) diffusers", memory["b"] / 2**20, "d", memory["d"] / 2**20, unit="MiB")
    report.ratio("time, widest motion module alone (b1) / diffusers' (d1)", seconds["b1"], "d1", seconds["d1"])
    report.ratio(
        "memory, widest motion module alone (b1) / diffusers' (d1)",
        memory["b1"] / 2**20,
        "d1",
        memory["d1"] / 2**20,
        unit="MiB",
    )
    print("  GPU timing (16 frames, 512x512, 25 steps) not taken: no GPU is lent to this task.")
    return report
