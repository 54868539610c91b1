"""Analytic denoisers on a ComfyUI ModelPatcher: models whose prediction is known in closed form, so a test can
say exactly what a sampler must return. Each returns a clone; the model passed in is untouched."""

from __future__ import annotations

import torch


def analytic(model, cond_x0, uncond_x0=None, calls: list | None = None):
    """A clone whose denoised prediction is ``cond_x0`` (cond) / ``uncond_x0`` (uncond), in model space, at every σ.

    A callable ``cond_x0(c_concat)`` computes the prediction from the image conditioning the model receives
    instead (chunk by chunk). ``calls`` collects each call's arguments (input, timestep, c, cond_or_uncond)."""
    m = model.clone()

    def wrapper(apply_model, args):
        x = args["input"]
        chunks = args["cond_or_uncond"]
        per = x.shape[0] // len(chunks)
        if calls is not None:
            calls.append(args)
        outs = []
        for i, c in enumerate(chunks):
            v = cond_x0 if c == 0 or uncond_x0 is None else uncond_x0
            if callable(v):
                v = v(args["c"]["c_concat"][i * per : (i + 1) * per])
            outs.append(v.to(x).reshape(per, *x.shape[1:]))
        return torch.cat(outs)

    m.set_model_unet_function_wrapper(wrapper)
    return m


def gaussian(model, mean: torch.Tensor, spread: float = 1.0):
    """A clone that is the exact denoiser of data ~ N(mean, spread² I) (model space). With x = a·x₀ + σ·ε (a = 1
    for SD-type models, a = 1 − σ for flow models such as Wan): x̂₀ = mean + κ(σ)(x − a·mean),
    κ = a·spread² / (a²·spread² + σ²). Unlike ``analytic`` its prediction depends on x, so what early steps do to x
    carries through to the end, as with a trained model."""
    import comfy.model_sampling

    m = model.clone()
    flow = isinstance(m.get_model_object("model_sampling"), comfy.model_sampling.CONST)

    def wrapper(apply_model, args):
        x = args["input"]
        # The σ ComfyUI samples at (its timestep is model-specific: σ·1000 for Wan's flow, an index for SD).
        sigma = args["c"]["transformer_options"]["sigmas"].view(-1, *([1] * (x.ndim - 1))).to(x)
        a = 1.0 - sigma if flow else torch.ones_like(sigma)
        keep = a * spread**2 / (a**2 * spread**2 + sigma**2)
        mu = mean.to(x)
        return mu + keep * (x - a * mu)

    m.set_model_unet_function_wrapper(wrapper)
    return m
