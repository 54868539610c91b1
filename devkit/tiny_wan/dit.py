"""The small Wan 2.1 image-to-video DiT: the module as ComfyUI detects it from the file, Wan's flow-matching loss
on ``WanImageToVideo``'s input layout, and its training (resumable), in two cosine cycles.

Cycle 1 trains from the adaLN-zero start. Cycle 2 (``DitConfig.restart_steps``) starts again from cycle 1's
exponential moving average rounded to fp16 (exactly what cycle 1's file holds), with a fresh AdamW and a second
warm-up and cosine decay at ``restart_lr``: a warm restart. It exists because cycle 1's loss was still falling
when its schedule ended (0.54 at step 1750, 0.46 at 2500) and objects did not yet persist; continuing from the
file, not from cycle 1's optimizer state, lets anyone extend a trained model without its checkpoints.

Cycle 2 weights the loss 1 + ``restart_object_weight`` on the latent cells an object covers. Objects cover about
13 % of the cells, so a plain mean lets the model spend itself on backgrounds: after a plain second cycle a colour
tracker found 5 of 24 held-out objects in >= 95 % of frames, after this weighted one (4) 13 (docs/tiny-wan.md,
which also has the experiment that chose the weight).
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import torch

from ...core.frames import mapping_for_counts
from ..clips import make_clip
from ..comfy_env import comfy_importable
from . import checkpoints
from .config import SHIFT, DitConfig

TEXT_DIM, CLIP_TOKENS, CLIP_DIM = 4096, 257, 1280


def dit_kwargs(cfg: DitConfig) -> dict:
    """``WanModel`` arguments equal to what ComfyUI's detection derives from the file (model_detection, keys
    ``head.modulation`` and ``img_emb.proj.0.bias`` → Wan 2.1 I2V)."""
    return dict(
        model_type="i2v",
        patch_size=(1, 2, 2),
        text_len=512,
        in_dim=36,
        dim=cfg.dim,
        ffn_dim=cfg.ffn_dim,
        freq_dim=256,
        text_dim=TEXT_DIM,
        out_dim=16,
        num_heads=cfg.dim // 128,
        num_layers=cfg.layers,
        window_size=(-1, -1),
        qk_norm=True,
        cross_attn_norm=True,
        eps=1e-6,
    )


def build_dit(cfg: DitConfig) -> torch.nn.Module:
    """ComfyUI's ``WanModel``, float32, initialised as a DiT is (adaLN-zero): every block and the head start by
    adding nothing, linear layers Xavier-uniform, seeded."""
    comfy_importable()
    import comfy.ops
    from comfy.ldm.wan.model import WanModel

    model = WanModel(**dit_kwargs(cfg), operations=comfy.ops.disable_weight_init)
    gen = torch.Generator().manual_seed(cfg.seed)
    for name, p in model.named_parameters():
        if p.ndim >= 2:
            fan_in, fan_out = p[0].numel(), p.shape[0] * (p[0].numel() // p.shape[1])
            bound = math.sqrt(6.0 / (fan_in + fan_out))
            p.data.uniform_(-bound, bound, generator=gen)
        elif name.endswith("weight"):
            p.data.fill_(1.0)  # norm scales
        else:
            p.data.zero_()
    for name, p in model.named_parameters():
        # adaLN-zero: the modulation that gates each block's output, and the output layer, start at zero.
        if name.endswith("modulation") or name.startswith("time_projection.1") or name.startswith("head.head"):
            p.data.zero_()
    return model


def i2v_input(x: torch.Tensor, start: torch.Tensor) -> torch.Tensor:
    """The 36 channels ComfyUI's ``WAN21.concat_cond`` gives the model for ``WanImageToVideo``'s conditioning:
    [x (16), mask (4: 1 on latent frame 0, else 0), start (16)], all in the processed latent space.
    x, start [B, 16, T, h, w] → [B, 36, T, h, w]"""
    mask = torch.zeros_like(x[:, :4])
    mask[:, :, 0] = 1.0
    return torch.cat([x, mask, start], dim=1)


def shifted_sigma(u: torch.Tensor, shift: float = SHIFT) -> torch.Tensor:
    """ComfyUI's ``time_snr_shift``: the σ a uniform schedule position u maps to under ModelSamplingSD3(shift)."""
    return shift * u / (1 + (shift - 1) * u)


def random_text(gen: torch.Generator, batch: int) -> torch.Tensor:
    """[B, L, 4096]: zeros (an empty or zeroed-out prompt) or rows of N(0, s²) for a random count of tokens then
    zero padding, as umt5's output is laid out; L from 16 to 512 so that padding length does not matter."""
    lengths = torch.tensor([16, 16, 32, 32, 64, 64, 128, 128, 256, 512])  # 512 is what ComfyUI's umt5 pads to
    length = int(lengths[torch.randint(len(lengths), (1,), generator=gen)])
    out = torch.zeros(batch, length, TEXT_DIM)
    for i in range(batch):
        if torch.rand(1, generator=gen).item() < 0.25:
            continue
        tokens = int(torch.randint(1, min(length, 40) + 1, (1,), generator=gen))
        scale = float(torch.empty(1).uniform_(0.05, 2.0, generator=gen))
        out[i, :tokens] = torch.randn(tokens, TEXT_DIM, generator=gen) * scale
    return out


def object_cells(seeds: range, latent_shape: tuple[int, int, int]) -> torch.Tensor:
    """Whether any object of ``make_clip(seed)`` covers each latent cell: [N, 1, T, h, w] in {0, 1}, for
    latents [T, h, w] of Wan's causal layout (core.frames: latent frame 0 holds pixel frame 0, each later one 4)."""
    t, h, w = latent_shape
    out = torch.zeros(len(seeds), 1, t, h, w)
    for i, seed in enumerate(seeds):
        cover = torch.from_numpy(sum(o.coverage for o in make_clip(seed).objects) > 0).float()  # [F, H, W]
        per_latent_frame = mapping_for_counts(len(cover), t).to_latent(cover, "max")  # [T, H, W]
        out[i, 0] = torch.nn.functional.adaptive_max_pool2d(per_latent_frame, (h, w))
    return out


def dit_loss(
    model, x0: torch.Tensor, start: torch.Tensor, gen: torch.Generator, weight: torch.Tensor | None = None
) -> torch.Tensor:
    """Wan's flow-matching loss on processed latents x0, start [B, 16, T, h, w]; ``weight`` [B, 1, T, h, w] per
    latent cell, normalised so that the loss keeps the plain loss's scale."""
    b = x0.shape[0]
    sigma = shifted_sigma(torch.rand(b, generator=gen))
    noise = torch.randn(x0.shape, generator=gen)
    s = sigma.view(b, 1, 1, 1, 1)
    x = s * noise + (1 - s) * x0
    clip_fea = None
    if torch.rand(1, generator=gen).item() < 0.2:
        clip_fea = torch.randn(b, CLIP_TOKENS, CLIP_DIM, generator=gen)
    pred = model(i2v_input(x, start), sigma * 1000, random_text(gen, b), clip_fea=clip_fea)
    err = (pred - (noise - x0)).pow(2)
    if weight is None:
        return err.mean()
    return (weight * err).mean() / weight.mean()


def train_dit(
    cfg: DitConfig, data: Path, workdir: Path, deadline: float, log, name: str = "dit", start: dict | None = None
) -> torch.nn.Module | None:
    """One cosine cycle of ``cfg.steps`` from the adaLN-zero start or from ``start``, checkpointed as ``name``
    every 50 steps; returns the EMA when the cycle is complete (None at the deadline)."""
    from .train import latent_format, load_dataset

    fmt = latent_format()
    latents, starts = load_dataset(data)
    latents, starts = fmt.process_in(latents), fmt.process_in(starts)
    weights = None
    if cfg.object_weight:
        weights = 1 + cfg.object_weight * object_cells(range(len(latents)), tuple(latents.shape[2:]))
    model, ema = build_dit(cfg), build_dit(cfg)
    if start is not None:
        model.load_state_dict(start)
    ema.load_state_dict(model.state_dict())
    ema.requires_grad_(False)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, betas=(0.9, 0.99), weight_decay=0.0)
    progress = checkpoints.load(workdir, name, {"model": model, "ema": ema}, opt) or {"step": 0, "seconds": 0.0}
    step, seconds, cpu = progress["step"], progress["seconds"], progress.get("cpu_seconds", 0.0)
    t_last, cpu_last = time.monotonic(), time.process_time()
    running = None
    while step < cfg.steps:
        gen = torch.Generator().manual_seed(cfg.seed * 1_000_003 + step)
        idx = torch.randint(len(latents), (cfg.batch,), generator=gen)
        for group in opt.param_groups:
            group["lr"] = checkpoints.lr_at(step, cfg.steps, cfg.lr, cfg.warmup)
        loss = dit_loss(model, latents[idx], starts[idx], gen, None if weights is None else weights[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        with torch.no_grad():
            decay = min(cfg.ema, (1 + step) / (10 + step))
            for pe, pm in zip(ema.parameters(), model.parameters(), strict=True):
                pe.mul_(decay).add_(pm.detach(), alpha=1 - decay)
        step += 1
        running = loss.item() if running is None else 0.98 * running + 0.02 * loss.item()
        if step % 50 == 0 or step == cfg.steps:
            now, cpu_now = time.monotonic(), time.process_time()
            seconds += now - t_last
            # CPU time counts what the steps cost even when the run was paused (SIGSTOP) for a test run.
            cpu += cpu_now - cpu_last
            t_last, cpu_last = now, cpu_now
            log(f"{name} step {step}/{cfg.steps} loss {running:.4f} ({seconds:.0f} s trained, {cpu:.0f} CPU-s)")
            checkpoints.save(
                workdir,
                name,
                {"model": model, "ema": ema},
                opt,
                {"step": step, "seconds": seconds, "cpu_seconds": cpu},
            )
            if now > deadline and step < cfg.steps:
                return None
    return ema


def fp16_rounded(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The state as the exported file holds it (fp16), back in float32."""
    return {k: v.detach().half().float() for k, v in module.state_dict().items()}


def train_dit_restart(
    cfg: DitConfig, data: Path, workdir: Path, start: dict[str, torch.Tensor], deadline: float, log
) -> torch.nn.Module | None:
    """Cycle 2: ``cfg.restart_steps`` more steps from ``start`` (cycle 1's fp16-rounded EMA), checkpointed as
    ``dit2``; the data is cycle 1's, the loss weighted on objects, the batches and noise drawn from seed + 1."""
    second = DitConfig(**{**cfg.__dict__, "steps": cfg.restart_steps, "lr": cfg.restart_lr,
                          "warmup": cfg.restart_warmup, "seed": cfg.seed + 1,
                          "object_weight": cfg.restart_object_weight})  # fmt: skip
    return train_dit(second, data, workdir, deadline, log, name="dit2", start=start)
