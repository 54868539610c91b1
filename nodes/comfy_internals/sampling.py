"""Sampling internals: the residual blend guider (a CFGGuider subclass), σ → sampling percent, latent
formats, and KSampler-style sampling with ComfyUI's progress bar and latent previews."""

from __future__ import annotations

import logging
import math
import uuid

import comfy.model_management
import comfy.sample
import comfy.samplers
import comfy.utils
import latent_preview
import torch

from ...core.blend import Schedule, blend, frame_instruction, mix_predictions
from ...core.edit import Edit
from ...core.flow import Flow

log = logging.getLogger("InteractiveVideo")

# The conditioning key through which ComfyUI feeds an image latent to image-conditioned models (SVD-like,
# inpainting and other concat models): BaseModel.concat_cond / extra_conds read it and apply process_in.
IMAGE_LATENT_KEY = "concat_latent_image"
SAMPLER_NAMES: list[str] = list(comfy.samplers.SAMPLER_NAMES)
SCHEDULER_NAMES: list[str] = list(comfy.samplers.SCHEDULER_NAMES)


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
    """Whether any entry of a CONDITIONING list feeds the model an image latent (``concat_latent_image``)."""
    return any(IMAGE_LATENT_KEY in entry[1] for entry in conditioning or [])


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


class ResidualBlendGuider(comfy.samplers.CFGGuider):
    """CFG, then every step's x̂₀ pulled toward the user's instructions (see core.blend).

    residual: x̂₀ ← x̂₀ + s(σ)·Σ_k M_k,f ⊙ (T_k,f − x̂₀) / max(1, Σ_k M_k,f)      (one model pass)
    dual:     x̂₀ ← x̂₀ + s(σ)·M̄_f ⊙ (x̂₀′ − x̂₀), x̂₀′ predicted with the image latent replaced by the edited one
              (both paths in one batched model call; needs image conditioning, else residual).
    Targets are raw VAE latents; they are moved into the sampler's space with the model's latent format.
    """

    def __init__(
        self,
        model_patcher,
        paint: list[Edit],
        align: list[Edit],
        flow: Flow | None,
        schedule: Schedule,
        dual: bool = False,
        node_id: str | None = None,
    ):
        # A clone, so nothing done during sampling can leak into the caller's model.
        super().__init__(model_patcher.clone())
        self.paint, self.align, self.flow = paint, align, flow
        self.schedule, self.dual, self.node_id = schedule, dual, node_id
        self._plan: tuple | None = None
        self._percent: dict[float, float] = {}

    # -- instructions at the sampled latent's shape ------------------------------------------------------------
    def _instructions(self, shape: tuple[int, ...]) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """Raw-latent (T, M) per instruction for a latent of ``shape``, in frame view [N, ·, h, w]."""
        video = len(shape) == 5
        frames = shape[2] if video else shape[0]
        repeats = shape[0] if video else 1
        targets, masks = [], []
        for edit, flow in [(e, self.flow) for e in self.paint] + [(e, None) for e in self.align]:
            if tuple(edit.target.shape[1:]) != (shape[1], *shape[-2:]):
                raise ValueError(
                    f"IV_ResidualBlendGuider: an edit's latent is {tuple(edit.target.shape[1:])} (C, h, w) but the "
                    f"sampled latent is {(shape[1], *shape[-2:])}: encode the images at the video's size with the "
                    "model's VAE"
                )
            target, mask = frame_instruction(edit, flow, frames, resample_time=video)
            targets.append(target.repeat(repeats, 1, 1, 1))
            masks.append(mask.repeat(repeats, 1, 1, 1))
        return targets, masks

    def sample(
        self, noise, latent_image, sampler, sigmas, denoise_mask=None, callback=None, disable_pbar=False, seed=None
    ):
        if latent_image.is_nested:
            raise ValueError("IV_ResidualBlendGuider does not support nested (multi-latent) inputs")
        targets, masks = self._instructions(tuple(latent_image.shape))
        self._raw = (targets, masks)
        self._plan, self._percent = None, {}
        self._dual_now, self._image_path_checked = self.dual, False
        if self.dual and latent_image.ndim == 5:
            # Video-model image latents are [B, C, T', h, w] in each model's own layout; no generic swap exists.
            show_text(
                self.node_id,
                "IV_ResidualBlendGuider: 'dual' is for frame-batched latents; this 5-D video latent runs as 'residual'",
            )
            self._dual_now = False
        if self._dual_now:
            self._add_instruction_conds(targets, masks)
        try:
            return super().sample(noise, latent_image, sampler, sigmas, denoise_mask, callback, disable_pbar, seed)
        finally:
            for key in ("positive_edit", "negative_edit"):
                self.original_conds.pop(key, None)
            self._plan = None

    def _add_instruction_conds(self, targets: list[torch.Tensor], masks: list[torch.Tensor]) -> None:
        """The instruction path's conds: each image latent replaced by itself with the edits applied (raw)."""
        for key in ("positive", "negative"):
            edited = []
            for entry in self.original_conds.get(key, []):
                entry = {**entry, "uuid": uuid.uuid4()}
                image = entry.get(IMAGE_LATENT_KEY)
                if image is not None and targets:
                    frames = targets[0].shape[0]
                    base = image.float().expand(frames, -1, -1, -1) if image.shape[0] == 1 else image.float()
                    entry[IMAGE_LATENT_KEY] = blend(
                        base, [t.to(base) for t in targets], [m.to(base) for m in masks], 1.0
                    )
                edited.append(entry)
            self.original_conds[f"{key}_edit"] = edited

    def _model_space(self, x: torch.Tensor) -> tuple[list[torch.Tensor], list[torch.Tensor], torch.Tensor]:
        key = (x.device, x.dtype)
        if self._plan is None or self._plan[0] != key:
            targets, masks = self._raw
            fmt = self.inner_model.process_latent_in
            t = [fmt(v.to(x.device, torch.float32)).to(x.dtype) for v in targets]
            m = [v.to(x.device, x.dtype) for v in masks]
            union = torch.stack(m).sum(0).clamp(max=1.0) if m else None
            self._plan = (key, t, m, union)
        return self._plan[1], self._plan[2], self._plan[3]

    def strength_at(self, sigma: torch.Tensor) -> float:
        value = float(sigma.flatten()[0])
        if value not in self._percent:
            ms = self.inner_model.model_sampling
            self._percent[value] = sigma_to_percent(ms, value)
        return self.schedule.at(self._percent[value])

    def predict_noise(self, x, timestep, model_options={}, seed=None):  # noqa: B006 (ComfyUI's signature)
        s = self.strength_at(timestep)
        if s == 0.0 or not self._raw[0]:
            return super().predict_noise(x, timestep, model_options, seed)
        targets, masks, union = self._model_space(x)
        if self._dual_now and not self._image_path_checked:
            self._image_path_checked = True
            if not any("c_concat" in e.get("model_conds", {}) for e in self.conds.get("positive_edit", [])):
                # The conditioning carries an image latent but this model takes none (no concat input).
                show_text(
                    self.node_id,
                    "IV_ResidualBlendGuider: mode 'dual' found an image latent in the conditioning but the model "
                    "does not take image conditioning, so it runs as 'residual'",
                )
                self._dual_now = False
        if self._dual_now:
            denoised, edited = self._predict_both(x, timestep, model_options)
            out = mix_predictions(_frame_view(denoised), _frame_view(edited), union, s)
        else:
            denoised = super().predict_noise(x, timestep, model_options, seed)
            out = blend(_frame_view(denoised), targets, masks, s)
        return _from_frame_view(out, x)

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
