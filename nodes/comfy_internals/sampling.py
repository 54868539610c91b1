"""Sampling internals: the instructions as a model patch (a post-CFG function) and as a guider (a CFGGuider
subclass, for Eq. 4's second prediction), σ → sampling percent, latent formats, and KSampler-style sampling with
ComfyUI's progress bar and latent previews."""

from __future__ import annotations

import logging
import math
import uuid

import comfy.model_management
import comfy.model_sampling
import comfy.sample
import comfy.samplers
import comfy.utils
import latent_preview
import torch

from ...core.blend import RegionClock, Schedule, free_motion_gate, mix_predictions, pull
from ...core.frames import IDENTITY, FrameCountError, FrameMapping, mapping_for_counts
from ...core.instructions import Composed, InstructionError, compose

log = logging.getLogger("InteractiveVideo")

# The conditioning key through which ComfyUI feeds an image latent to image-conditioned models (SVD-like,
# inpainting and other concat models): BaseModel.concat_cond / extra_conds read it and apply process_in.
IMAGE_LATENT_KEY = "concat_latent_image"
# PIA Conditioning's [affinity mask, image latent] channels, fed after the noise (model space).
NOISE_CONCAT_KEY = "noise_concat"
# Temporal stride of the causal VAE behind each video latent format (comfy.latent_formats class names): latent
# frame k ≥ 1 holds pixel frames r(k−1)+1 … rk (core.frames). Formats not listed get the stride their frame
# counts imply (core.frames.mapping_for_counts).
VIDEO_VAE_STRIDES = {
    "Wan21": 4,
    "Wan22": 4,
    "HunyuanVideo": 4,
    "HunyuanVideo15": 4,
    "Cosmos1CV8x8x8": 8,
    "Mochi": 6,
    "LTXV": 8,
}
SAMPLER_NAMES: list[str] = list(comfy.samplers.SAMPLER_NAMES)
SCHEDULER_NAMES: list[str] = list(comfy.samplers.SCHEDULER_NAMES)


def sigma_progress(model_sampling, sigma: float) -> float:
    """Sampling progress of a σ, what the schedules' start/end percents are measured in (core.blend.Schedule).

    Flow models (x = (1 − σ)·x₀ + σ·ε: Wan, Flux, SD3): 1 − σ/σ_max, the noise level itself, so a schedule acts
    at the same σ whatever the shift (Wan's shift 5 or 8 would otherwise move 'end 0.8' from σ 0.2 to σ 0.67, where
    most of the picture is still noise). Other models: ComfyUI's own percent (``sigma_to_percent``), as its
    ControlNet and timestep-range nodes use it.
    """
    if isinstance(model_sampling, comfy.model_sampling.CONST):
        top = float(model_sampling.sigma_max)
        return min(1.0, max(0.0, 1.0 - sigma / top))
    return sigma_to_percent(model_sampling, sigma)


def sigma_to_percent(model_sampling, sigma: float) -> float:
    """Sampling progress of a σ as ComfyUI defines it: the inverse of ``model_sampling.percent_to_sigma``.

    percent_to_sigma is monotone (decreasing) for every ComfyUI model sampling, so bisection inverts all of
    them alike (discrete, EDM, flow, cascade) without knowing which one it is.
    """
    lo, hi = 0.0, 1.0
    for _ in range(48):
        mid = 0.5 * (lo + hi)
        if float(model_sampling.percent_to_sigma(mid)) > sigma:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def has_image_conditioning(conditioning) -> bool:
    """Whether any entry of a CONDITIONING list feeds the model an image latent (``concat_latent_image``, or PIA
    Conditioning's ``noise_concat``)."""
    return any(IMAGE_LATENT_KEY in entry[1] or NOISE_CONCAT_KEY in entry[1] for entry in conditioning or [])


def show_text(node_id: str | None, text: str) -> None:
    """Show a line of text on a node in the browser (as ComfyUI's own progress text does); log it too."""
    log.warning(text)
    try:
        from server import PromptServer
    except ImportError:
        return
    server = getattr(PromptServer, "instance", None)
    if server is not None and node_id is not None:
        server.send_progress_text(text, node_id)


def _frame_view(x: torch.Tensor) -> torch.Tensor:
    """[F, C, h, w] stays; [B, C, T, h, w] -> [B·T, C, h, w] (frames of each video consecutive)."""
    if x.ndim == 5:
        return x.transpose(1, 2).reshape(-1, x.shape[1], *x.shape[-2:])
    return x


def _from_frame_view(frames: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    if like.ndim == 5:
        b, c, t, h, w = like.shape
        return frames.reshape(b, t, c, h, w).transpose(1, 2)
    return frames


def frame_mapping(latent_format, latent_frames: int, pixel_frames: int | None) -> FrameMapping:
    """How the model's VAE laid pixel frames into the ``latent_frames`` of a 5-D latent (core.frames)."""
    stride = VIDEO_VAE_STRIDES.get(type(latent_format).__name__)
    if stride is not None:
        return FrameMapping(stride)
    return IDENTITY if pixel_frames is None else mapping_for_counts(pixel_frames, latent_frames)


class InstructionPlan:
    """The user's instructions for one sampling run, composed for the sampled latent (core.instructions) and
    moved into the model's latent space once per shape, device and dtype; strength per σ from the schedule, or,
    with a region clock, the region pinned until its release and the rest on the schedule (core.blend)."""

    def __init__(
        self, instructions: dict, schedule: Schedule, node_id: str | None = None, clock: RegionClock | None = None
    ):
        self.instructions, self.schedule, self.node_id, self.clock = instructions, schedule, node_id, clock
        self._raw: dict[tuple, Composed | None] = {}
        self._model_space: dict[tuple, tuple[torch.Tensor, ...]] = {}
        self._percent: dict[float, float] = {}

    def _pixel_frames(self) -> int | None:
        """The longest per-frame instruction (flow or affinity), which says how many pixel frames were meant."""
        counts = [self.instructions["flow"].flow.shape[0]] if self.instructions.get("flow") is not None else []
        if self.instructions.get("align") is not None:
            counts.append(self.instructions["align"].affinity.shape[0])
        return max(counts) if counts else None

    def composed(self, shape: tuple[int, ...], latent_format=None) -> Composed | None:
        """Raw-latent target and weight for a latent of ``shape``, in frame view [N, ·, h, w]. 5-D video latents
        [B, C, T, h, w] map the instructions' pixel frames to latent frames through ``latent_format``'s VAE."""
        if shape not in self._raw:
            video = len(shape) == 5
            frames, repeats = (shape[2], shape[0]) if video else (shape[0], 1)
            try:
                mapping = frame_mapping(latent_format, frames, self._pixel_frames()) if video else IDENTITY
                composed = compose(frames, mapping=mapping, **self.instructions)
            except (InstructionError, FrameCountError) as e:
                raise ValueError(f"InteractiveVideo instructions: {e}") from e
            if composed is not None:
                if tuple(composed.target.shape[1:]) != (shape[1], *shape[-2:]):
                    raise ValueError(
                        f"InteractiveVideo instructions: the edits' latent is {tuple(composed.target.shape[1:])} "
                        f"(C, h, w) but the sampled latent is {(shape[1], *shape[-2:])}: encode the images at the "
                        "video's size with the model's VAE"
                    )
                if repeats > 1:
                    composed = composed.repeated(repeats)
            self._raw[shape] = composed
        return self._raw[shape]

    def in_model_space(self, model, x: torch.Tensor) -> tuple[torch.Tensor, ...] | None:
        """(target [N, C, h, w] in the sampler's space, weight [N, 1, h, w], and where a region clock or an
        alignment's tolerance needs them the region, alignment [N, 1, h, w] and sweep [1, 1, h, w] weights) for the
        latent ``x``."""
        key = (tuple(x.shape), x.device, x.dtype)
        if key not in self._model_space:
            composed = self.composed(tuple(x.shape), model.latent_format)
            if composed is None:
                return None
            raw = composed.target.to(x.device, torch.float32)
            # Latent formats scale per channel in the latent's own layout ([1, C, 1, 1, 1] for video latents).
            target = _frame_view(model.process_latent_in(_from_frame_view(raw, x))).to(x.dtype)
            planned = (target, composed.weight.to(x.device, x.dtype))
            if self.clock is not None or composed.tolerance > 0.0:
                region = torch.maximum(composed.paint, composed.drag)
                planned += tuple(t.to(x.device, x.dtype) for t in (region, composed.align, composed.sweep))
            self._model_space[key] = planned
        return self._model_space[key]

    def progress(self, model_sampling, sigma: torch.Tensor) -> float:
        value = float(sigma.flatten()[0])
        if value not in self._percent:
            self._percent[value] = sigma_progress(model_sampling, value)
        return self._percent[value]

    def at_step(
        self, model, x: torch.Tensor, sigma: torch.Tensor, x0: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, float] | None:
        """What acts at ``sigma`` on a latent like ``x``: (target, weight, strength) in frame view, or None.

        Residual: the plan's weight M and s(σ). Region clock: the clock's weight W(σ) (core.blend.RegionClock)
        with strength 1. An alignment with a tolerance is weighed by how far the model's prediction ``x0`` (frame
        view) is from the target (core.blend.free_motion_gate); without ``x0`` it holds wholly."""
        p = self.progress(model.model_sampling, sigma)
        s = self.schedule.at(p)
        if s == 0.0 and (self.clock is None or p > self.clock.release):
            return None
        planned = self.in_model_space(model, x)
        if planned is None:
            return None
        target, weight = planned[:2]
        if len(planned) == 2:
            return target, weight, s
        region, align, sweep = planned[2:]
        tolerance = self._raw[tuple(x.shape)].tolerance
        if tolerance > 0.0 and x0 is not None:
            align = align * free_motion_gate(x0, target, sweep, tolerance)
            weight = torch.maximum(region, align)
        if self.clock is None:
            return target, weight, s
        weight = self.clock.weight(region, align, p, self.schedule)
        return None if weight is None else (target, weight, 1.0)

    def post_cfg(self, args: dict) -> torch.Tensor:
        """sampler_post_cfg_function: the pull on the CFG result, x̂₀ + s·W ⊙ (T − x̂₀) (see ``at_step``)."""
        denoised = args["denoised"]
        x0 = _frame_view(denoised)
        step = self.at_step(args["model"], denoised, args["sigma"], x0)
        if step is None:
            return denoised
        target, weight, s = step
        return _from_frame_view(pull(x0, target, weight, s), denoised)


def apply_instructions(model, plan: InstructionPlan):
    """A clone of ``model`` whose every CFG result is pulled toward the instructions (a post-CFG function, the
    way core Differential Diffusion or Perturbed Attention patch a model): any sampler node applies them."""
    m = model.clone()
    m.set_model_sampler_post_cfg_function(plan.post_cfg)
    return m


def _image_channels(entry: dict, target: torch.Tensor, process_in) -> dict | None:
    """A conditioning entry whose image latent is replaced by ``target`` (raw, [F, C, h, w]), or None if it has
    none. ``concat_latent_image`` is raw (the model applies its latent format); PIA's ``noise_concat`` is
    [F, 1 + C, h, w] in model space, [affinity mask, image latent]: its mask channel stays."""
    if IMAGE_LATENT_KEY in entry:
        return {**entry, IMAGE_LATENT_KEY: target.to(entry[IMAGE_LATENT_KEY].dtype)}
    concat = entry.get(NOISE_CONCAT_KEY)
    if concat is not None and concat.ndim == 4 and concat.shape[1] == 1 + target.shape[1]:
        image = process_in(target.to(torch.float32)).to(concat)
        mask = concat[:, :1].expand(image.shape[0], -1, -1, -1) if concat.shape[0] == 1 else concat[:, :1]
        return {**entry, NOISE_CONCAT_KEY: torch.cat([mask, image], dim=1)}
    return None


class ResidualBlendGuider(comfy.samplers.CFGGuider):
    """CFG plus the instructions (see core.instructions, core.blend).

    residual: the model patch of ``apply_instructions`` (one model pass per step).
    dual:     Eq. 4: a second prediction x̂₀′ with the model's image latent replaced by the instructions' target
              (the edited image moved along the flow, per frame), both paths in one batched model call, then
              x̂₀ ← x̂₀ + s(σ)·M ⊙ (x̂₀′ − x̂₀). Needs image conditioning (concat_latent_image or PIA's), else residual.
    """

    def __init__(self, model_patcher, plan: InstructionPlan, dual: bool = False, node_id: str | None = None):
        # A clone in either mode, so nothing done during sampling can leak into the caller's model.
        super().__init__(model_patcher.clone() if dual else apply_instructions(model_patcher, plan))
        self.plan, self.dual, self.node_id = plan, dual, node_id
        self._dual_now, self._checked = False, False

    def sample(
        self, noise, latent_image, sampler, sigmas, denoise_mask=None, callback=None, disable_pbar=False, seed=None
    ):
        if latent_image.is_nested:
            raise ValueError("IV_ResidualBlendGuider does not support nested (multi-latent) inputs")
        self._dual_now, self._checked = self.dual, False
        if self.dual:
            if latent_image.ndim == 5:
                # Video-model image latents are [B, C, T', h, w] in each model's own layout; no generic swap exists.
                self._say("'dual' is for frame-batched latents; this 5-D video latent runs as 'residual'")
                self._dual_now = False
            else:
                self._dual_now = self._add_instruction_conds(tuple(latent_image.shape))
        try:
            return super().sample(noise, latent_image, sampler, sigmas, denoise_mask, callback, disable_pbar, seed)
        finally:
            for key in ("positive_edit", "negative_edit"):
                self.original_conds.pop(key, None)

    def _say(self, text: str) -> None:
        show_text(self.node_id, f"IV_ResidualBlendGuider: {text}")

    def _add_instruction_conds(self, shape: tuple[int, ...]) -> bool:
        """The instruction path's conds: each image latent replaced by the instructions' target. False (and a
        message) when there is nothing to replace."""
        composed = self.plan.composed(shape, self.model_patcher.model.latent_format)
        if composed is None:
            return False
        process_in = self.model_patcher.model.process_latent_in
        replaced = False
        for key in ("positive", "negative"):
            edited = []
            for entry in self.original_conds.get(key, []):
                swapped = _image_channels(entry, composed.target, process_in)
                replaced |= swapped is not None
                edited.append({**(swapped or entry), "uuid": uuid.uuid4()})
            self.original_conds[f"{key}_edit"] = edited
        if not replaced:
            self._say(
                "mode 'dual' needs a model conditioned on an image latent (concat_latent_image, or PIA Conditioning's "
                "image channels); this conditioning has none, so it runs as 'residual'"
            )
        return replaced

    def predict_noise(self, x, timestep, model_options={}, seed=None):  # noqa: B006 (ComfyUI's signature)
        if not self.dual:  # the model patch does it all
            return super().predict_noise(x, timestep, model_options, seed)
        if self._dual_now and not self._checked:
            self._checked = True
            if not any("c_concat" in e.get("model_conds", {}) for e in self.conds.get("positive_edit", [])):
                self._say(
                    "mode 'dual' found an image latent in the conditioning but the model does not take image "
                    "conditioning, so it runs as 'residual'"
                )
                self._dual_now = False
        step = self.plan.at_step(self.inner_model, x, timestep)
        if not self._dual_now or step is None:
            denoised = super().predict_noise(x, timestep, model_options, seed)
            return self.plan.post_cfg({"denoised": denoised, "model": self.inner_model, "sigma": timestep})
        denoised, edited = self._predict_both(x, timestep, model_options)
        _, weight, s = self.plan.at_step(self.inner_model, x, timestep, _frame_view(denoised))
        return _from_frame_view(mix_predictions(_frame_view(denoised), _frame_view(edited), weight, s), x)

    def _predict_both(self, x, timestep, model_options):
        """Both paths' CFG predictions from one batched model call (calc_cond_batch splits only for memory)."""
        cfg1 = math.isclose(self.cfg, 1.0) and not model_options.get("disable_cfg1_optimization", False)
        pos, neg = self.conds.get("positive"), self.conds.get("negative")
        pos_e, neg_e = self.conds.get("positive_edit"), self.conds.get("negative_edit")
        if cfg1:
            neg, neg_e = None, None
        out = comfy.samplers.calc_cond_batch(self.inner_model, [pos, neg, pos_e, neg_e], x, timestep, model_options)
        results = []
        for cond, uncond, pair in ((pos, neg, out[:2]), (pos_e, neg_e, out[2:])):
            for fn in model_options.get("sampler_pre_cfg_function", []):
                pair = fn(
                    {
                        "conds": [cond, uncond],
                        "conds_out": pair,
                        "cond_scale": self.cfg,
                        "timestep": timestep,
                        "input": x,
                        "sigma": timestep,
                        "model": self.inner_model,
                        "model_options": model_options,
                    }
                )
            results.append(
                comfy.samplers.cfg_function(
                    self.inner_model, pair[0], pair[1], self.cfg, x, timestep, model_options, cond=cond, uncond=uncond
                )
            )
        return results[0], results[1]


def sample_like_ksampler(
    model, guider, noise, seed: int, steps: int, sampler_name: str, scheduler: str, latent: dict, denoise: float
) -> dict:
    """What core KSampler does (nodes.common_ksampler), with our guider and noise: sigmas from the scheduler
    (with denoise), the named sampler, progress bar and latent previews through latent_preview.prepare_callback.

    noise: an object with ``generate_noise(latent_dict)`` (ComfyUI's NOISE protocol).
    """
    latent_image = comfy.sample.fix_empty_latent_channels(model, latent["samples"])
    latent = {**latent, "samples": latent_image}
    sigmas = comfy.samplers.KSampler(
        model, steps=steps, device=model.load_device, sampler=sampler_name, scheduler=scheduler, denoise=denoise
    ).sigmas
    sampler = comfy.samplers.sampler_object(sampler_name)
    callback = latent_preview.prepare_callback(model, sigmas.shape[-1] - 1)
    samples = guider.sample(
        noise.generate_noise(latent),
        latent_image,
        sampler,
        sigmas,
        denoise_mask=latent.get("noise_mask"),
        callback=callback,
        disable_pbar=not comfy.utils.PROGRESS_BAR_ENABLED,
        seed=seed,
    )
    return {**latent, "samples": samples.to(comfy.model_management.intermediate_device())}


def random_noise(latent: dict, seed: int) -> torch.Tensor:
    """ComfyUI's own seeded noise for a LATENT (what KSampler and RandomNoise use)."""
    return comfy.sample.prepare_noise(latent["samples"], seed, latent.get("batch_index"))
