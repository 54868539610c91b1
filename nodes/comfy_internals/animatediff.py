"""AnimateDiff internals: the `animatediff_models` folder, safe loading, injection of motion modules into
ComfyUI's SD1.5 UNet through ModelPatcher patches, the AnimateDiff beta schedule as a model_sampling patch,
and PIA's 9-channel conv_in."""

from __future__ import annotations

import os
import re

import torch

MOTION_MODULE_FOLDER = "animatediff_models"
MOTION_MODULE_EXTENSIONS = {".safetensors", ".ckpt", ".pt", ".pth"}
# AnimateDiff and PIA were trained with betas linear in beta from 0.00085 to 0.012: ComfyUI's "sqrt_linear".
# ComfyUI's "linear" (linear in sqrt(beta)) is SD1.5's own schedule.
BETA_SCHEDULES = ("auto", "sqrt_linear", "linear", "keep model's")


def register_motion_module_folder() -> None:
    """Make ``models/animatediff_models`` (the folder other AnimateDiff packs use) a ComfyUI model folder."""
    import folder_paths

    folder_paths.add_model_folder_path(
        MOTION_MODULE_FOLDER, os.path.join(folder_paths.models_dir, MOTION_MODULE_FOLDER), is_default=True
    )
    paths, exts = folder_paths.folder_names_and_paths[MOTION_MODULE_FOLDER]
    folder_paths.folder_names_and_paths[MOTION_MODULE_FOLDER] = (paths, set(exts) | MOTION_MODULE_EXTENSIONS)


def motion_module_files() -> list[str]:
    import folder_paths

    return folder_paths.get_filename_list(MOTION_MODULE_FOLDER)


def load_motion_module_file(name: str):
    """Read a motion-module file from ``animatediff_models`` (pickles weights-only) and classify it.

    returns core.motion_weights.MotionModuleWeights; raises ValueError with an actionable message.
    """
    import logging

    import comfy.utils
    import folder_paths

    from ...core.motion_weights import motion_module_from_state_dict

    path = folder_paths.get_full_path(MOTION_MODULE_FOLDER, name)
    if path is None:
        raise ValueError(
            f"motion module {name!r} is not in any '{MOTION_MODULE_FOLDER}' folder "
            f"({folder_paths.get_folder_paths(MOTION_MODULE_FOLDER)}): put the file there and refresh"
        )
    try:
        state = comfy.utils.load_torch_file(path, safe_load=True)
    except Exception as e:  # a damaged file surfaces as safetensors', pickle's or zipfile's own error type
        raise ValueError(_unreadable(name, e)) from None
    if not isinstance(state, dict) or not all(isinstance(k, str) and torch.is_tensor(v) for k, v in state.items()):
        raise ValueError(
            f"motion module {name!r} holds {type(state).__name__} data, not named tensors: it is not a model file. "
            "Supported: AnimateDiff v1/v2/v3 (SD1.5) and PIA motion modules."
        )
    weights = motion_module_from_state_dict(state, name)
    if weights.ignored:
        logging.debug("%s: ignored %d tensors outside the motion modules", name, len(weights.ignored))
    return weights


def _unreadable(name: str, error: Exception) -> str:
    """Why a motion-module file could not be read, in words. torch's weights-only refusal is summarised, never
    passed on: its text explains how to turn the safety off, which is not advice this pack gives."""
    text = str(error)
    if "weights_only" in text or "Weights only" in text:
        found = re.search(r"GLOBAL ([\w.]+)", text)
        if found:
            return (
                f"motion module {name!r} was refused: it is a pickle holding more than tensors (it refers to "
                f"{found.group(1)}, code or an object that loading could run). Only pickles of plain tensors are "
                "read: use the module's .safetensors release, or the file from its original publisher."
            )
        return (
            f"motion module {name!r} was refused: it is a pickle holding more than tensors, or a damaged one. Only "
            "pickles of plain tensors are read: download it again, preferably as .safetensors."
        )
    first = f"{type(error).__name__}: {text.strip().splitlines()[0][:200]}" if text.strip() else type(error).__name__
    return (
        f"could not read motion module {name!r}: the file is damaged or truncated, or not a model file ({first}). "
        "Download it again, preferably as .safetensors."
    )


def _unet_place(kind: str, index: int) -> str:
    return "diffusion_model.middle_block" if kind == "middle" else f"diffusion_model.{kind}_blocks.{index}"


def _motion_module_patch(layer, x, emb, context, transformer_options, *args):
    """forward_timestep_embed_patch for the inserted MotionModule layers: the batch holds one clip per cond."""
    groups = len(transformer_options.get("cond_or_uncond") or [0])
    return layer(x, groups=groups)


class _ConvInPatch:
    """forward_timestep_embed_patch for the UNet's conv_in: PIA's extra [mask, image] channels, or a clear error.

    PIA's conv_in is ``[base conv_in (4 ch) | PIA (5 ch)]`` with the base bias, so the base layer stays as is
    (its LoRA/weight patches still apply) and the 5 conditioning channels add their own convolution.
    """

    def __init__(self, conv_in, extra_weight: torch.Tensor | None, module_name: str):
        self.conv_in_type = type(conv_in)
        self.extra_weight = extra_weight
        self.module_name = module_name

    def __call__(self, layer, x, *args):
        if x.shape[1] == 4 or getattr(layer, "in_channels", None) != 4:  # the plain input, or another conv
            return layer(x)
        if self.extra_weight is None or x.shape[1] != 9:
            raise ValueError(
                f"the model gets {x.shape[1]} input channels (IV_PIAConditioning adds PIA's [mask, image latent]), "
                f"but the motion module {self.module_name!r} is not PIA. Load a PIA file in IV_LoadMotionModule, "
                f"or drop IV_PIAConditioning and use IV_ImageAlign with plain AnimateDiff."
            )
        w = self.extra_weight.to(device=x.device, dtype=x.dtype)
        return layer(x[:, :4]) + torch.nn.functional.conv2d(x[:, 4:], w, padding=1)


def _is_sd15_unet(unet) -> bool:
    return (
        getattr(unet, "model_channels", None) == 320
        and len(getattr(unet, "input_blocks", ())) == 12
        and len(getattr(unet, "output_blocks", ())) == 12
        and getattr(unet, "in_channels", None) == 4
    )


def apply_motion_module(model, weights, scale: float, effect: float, beta_schedule: str):
    """A clone of ``model`` with the motion modules inserted, the beta schedule set, and PIA's conv_in.

    model: ComfyUI ModelPatcher of an SD1.5 checkpoint (untouched: everything goes on the clone as patches).
    weights: core.motion_weights.MotionModuleWeights.
    """
    import comfy.ldm.modules.attention
    import comfy.model_sampling
    import comfy.ops
    import comfy.patcher_extension
    from comfy.ldm.modules.diffusionmodules.openaimodel import TimestepEmbedSequential, Upsample

    from ...core.motion_module import MotionModule
    from ...core.motion_weights import build_motion_modules

    unet = model.get_model_object("diffusion_model")
    if not _is_sd15_unet(unet):
        raise ValueError(
            f"IV_ApplyAnimateDiff needs an SD1.5 model (320-channel UNet with 12 input blocks, 4 latent channels); "
            f"this MODEL is {type(model.model).__name__} with a "
            f"{getattr(unet, 'model_channels', '?')}-channel UNet. AnimateDiff SD1.5 motion modules fit only SD1.5."
        )
    m = model.clone()
    base = m.model
    ops = (
        comfy.ops.manual_cast if getattr(base, "manual_cast_dtype", None) is not None else comfy.ops.disable_weight_init
    )
    modules = build_motion_modules(
        weights,
        # Temporal attention is many short sequences (frames): ComfyUI's choice for small inputs (PyTorch SDPA
        # where enabled), not the sub-quadratic chunking it uses for long spatial sequences on CPU.
        attention=comfy.ldm.modules.attention.optimized_attention_for_device(m.load_device, small_input=True),
        operations=ops,
        dtype=m.model_dtype(),
        scale=scale,
        effect=effect,
    )
    added = 0
    for (kind, index), module in modules.items():
        place = _unet_place(kind, index)
        layers = list(m.get_model_object(place))
        if any(isinstance(layer, MotionModule) for layer in layers):
            raise ValueError("this MODEL already has a motion module applied: apply IV_ApplyAnimateDiff only once")
        if kind == "middle":
            at = 2  # after the SpatialTransformer, before the second ResBlock
        elif isinstance(layers[-1], Upsample):
            at = len(layers) - 1
        else:
            at = len(layers)
        m.add_object_patch(place, TimestepEmbedSequential(*layers[:at], module, *layers[at:]))
        added += sum(t.numel() * t.element_size() for t in module.state_dict().values())
    m.set_model_forward_timestep_embed_patch((MotionModule, _motion_module_patch))
    conv_in = m.get_model_object("diffusion_model.input_blocks.0.0")
    extra = weights.conv_in_extra()[0].float() if weights.format == "pia" else None
    handler = _ConvInPatch(conv_in, extra, weights.name)
    m.set_model_forward_timestep_embed_patch((handler.conv_in_type, handler))
    # The loader sizes device memory from the patcher's size; the inserted modules travel with the model.
    m.size = model.model_size() + added
    m.add_wrapper_with_key(comfy.patcher_extension.WrappersMP.SAMPLER_SAMPLE, "iv_animatediff", _frame_windows_wrapper)

    if beta_schedule != "keep model's":
        schedule = "sqrt_linear" if beta_schedule == "auto" else beta_schedule
        current = m.get_model_object("model_sampling")
        prediction = next(
            (c for c in (comfy.model_sampling.V_PREDICTION, comfy.model_sampling.EPS) if isinstance(current, c)),
            comfy.model_sampling.EPS,
        )

        class AnimateDiffSampling(comfy.model_sampling.ModelSamplingDiscrete, prediction):
            pass

        settings = {"beta_schedule": schedule, "linear_start": 0.00085, "linear_end": 0.012}
        m.add_object_patch("model_sampling", AnimateDiffSampling(_SamplingConfig(settings)))
    return m


def _frame_windows_wrapper(executor, model_wrap, sigmas, extra_args, *args, **kwargs):
    """SAMPLER_SAMPLE wrapper: lets ComfyUI's context windows run over frames in the batch dimension.

    ComfyUI 0.3.75's ``IndexListContextHandler.set_step`` compares the step's sigma with ``sample_sigmas`` by
    broadcasting, which fails when the sigma comes per batch element ([frames], as k-diffusion samplers pass
    it) and windows run over dim 0. Every frame shares one sigma, so this sampling run gets its own copy of
    the handler that looks the step up by the first frame's sigma. Nothing outside this run is changed.
    """
    import copy
    import types

    handler = extra_args["model_options"].get("context_handler")
    if handler is not None and getattr(handler, "dim", None) == 0 and hasattr(handler, "set_step"):
        per_run = copy.copy(handler)
        find_step = type(handler).set_step

        def set_step(self, timestep, model_options):
            return find_step(self, timestep.reshape(-1)[:1] if timestep.ndim else timestep, model_options)

        per_run.set_step = types.MethodType(set_step, per_run)
        extra_args = {**extra_args, "model_options": {**extra_args["model_options"], "context_handler": per_run}}
    return executor(model_wrap, sigmas, extra_args, *args, **kwargs)


class _SamplingConfig:
    """The one attribute ModelSamplingDiscrete reads from a model config."""

    def __init__(self, sampling_settings: dict):
        self.sampling_settings = sampling_settings


def sd15_process_latent_in(latent: torch.Tensor) -> torch.Tensor:
    """Raw SD1.5 VAE latent -> the model's latent space (× 0.18215), as PIA's image channels expect."""
    import comfy.latent_formats

    return comfy.latent_formats.SD15().process_in(latent)


def set_noise_concat(conditioning: list, concat: torch.Tensor) -> list:
    """Conditioning that feeds ``concat`` [F, K, h, w] to the UNet as extra input channels after the noise."""
    import node_helpers

    return node_helpers.conditioning_set_values(conditioning, {"noise_concat": concat})
