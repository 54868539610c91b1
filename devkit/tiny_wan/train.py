"""Training of the small Wan 2.1 VAE and image-to-video DiT, on CPU, seeded and resumable.

Stages, each resumable from its own checkpoint in the work folder (a run stopped at its deadline continues where
it stopped when started again):

1. ``vae``: ComfyUI's own ``WanVAE`` module (Wan 2.1 layout) from the hand-set codec start (``vae_init``),
   trained on random crops of procedural clips (1, 5 or 9 frames: the causal 1 + 4k layout) with Adam,
   warm-up and cosine decay, loss MSE + ½·L1 in ComfyUI's pixel range [-1, 1].
2. ``calibrate``: a per-channel affine folded into the VAE's 1×1 convolutions around the latent so that ComfyUI's
   ``Wan21`` latent format (its fixed ``latents_mean``/``latents_std``) maps our latents to zero mean and unit
   spread, the scale Wan's flow matching expects. Exact: the decoder undoes it.
3. ``encode``: the DiT's training set, each clip's latent and the latent of what ``WanImageToVideo`` encodes for
   its first frame (the frame, then grey 0.5), both through the trained VAE.
4. ``dit`` (dit.py): ComfyUI's own ``WanModel`` (model_type ``i2v``, 36 input channels) trained with Wan's flow-matching
   objective: x_σ = σ·ε + (1 − σ)·x₀, target ε − x₀, timestep σ·1000, σ drawn with the shift the demo samples
   with; the input laid out as ComfyUI's ``WAN21.concat_cond`` lays it out ([x_σ, 4 mask channels (1 on the
   start frame's latent frame), the processed start-frame latent]); text embeddings random (zero, or N(0, s²)
   rows of random length and scale) and CLIP-vision features absent or random, so the model learns to ignore
   both and any CONDITIONING works. Adam with warm-up and cosine decay; an exponential moving average of the
   weights is what gets exported. Then ``dit2``: a second cycle, a warm restart from the first cycle's
   fp16-rounded average, its loss weighted on the latent cells objects cover (dit.py says why).
5. ``export`` (export.py): both files as fp16 safetensors in ComfyUI's key layout with metadata.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from ..clips import make_clip
from ..comfy_env import comfy_importable
from ..wan import WAN21_VAE
from . import checkpoints, vae_init
from .config import FRAMES, SIZE, VAE_HELD_OUT, DitConfig, TrainConfig, VaeConfig
from .dit import fp16_rounded, train_dit, train_dit_restart
from .export import export

Log = Callable[[str], None]


# --- models ------------------------------------------------------------------------------------------------


def build_vae(width: int) -> torch.nn.Module:
    """ComfyUI's Wan 2.1 VAE module at ``width`` (the real file's is 96), float32, uninitialised."""
    comfy_importable()
    from comfy.ldm.wan.vae import WanVAE

    return WanVAE(**{**WAN21_VAE, "dim": width})


def latent_format():
    comfy_importable()
    import comfy.latent_formats

    return comfy.latent_formats.Wan21()


# --- 1. VAE -------------------------------------------------------------------------------------------------


def vae_batch(cfg: VaeConfig, step: int) -> torch.Tensor:
    """[B, 3, T, crop, crop] in [-1, 1]: crops of training clips (seeds below the held-out range), T one of
    ``cfg.frames``; half the crops centred on an object, so edges and colours are well represented."""
    rng = np.random.default_rng([cfg.seed, step])
    frames = int(rng.choice(cfg.frames))
    out = []
    for _ in range(cfg.batch):
        clip = make_clip(int(rng.integers(0, VAE_HELD_OUT)), SIZE, max(frames, 2))
        start = int(rng.integers(0, clip.frames.shape[0] - frames + 1))
        if rng.uniform() < 0.5 and clip.objects:
            cx, cy = clip.objects[int(rng.integers(len(clip.objects)))].centres[start]
            x0 = int(np.clip(cx - cfg.crop / 2 + rng.integers(-8, 9), 0, SIZE - cfg.crop))
            y0 = int(np.clip(cy - cfg.crop / 2 + rng.integers(-8, 9), 0, SIZE - cfg.crop))
        else:
            x0, y0 = (int(v) for v in rng.integers(0, SIZE - cfg.crop + 1, size=2))
        out.append(clip.frames[start : start + frames, y0 : y0 + cfg.crop, x0 : x0 + cfg.crop])
    return torch.from_numpy(np.stack(out)).permute(0, 4, 1, 2, 3) * 2 - 1


def reconstruct(vae: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    return vae.decode(vae.encode(x))[:, :, : x.shape[2]]


def train_vae(cfg: VaeConfig, workdir: Path, deadline: float, log: Log) -> torch.nn.Module | None:
    """Trains to ``cfg.steps``; returns the VAE when done, None when the deadline came first (checkpointed)."""
    vae = vae_init.init_codec_(build_vae(cfg.width), cfg.seed)
    opt = torch.optim.Adam(vae.parameters(), lr=cfg.lr, betas=(0.9, 0.99))
    progress = checkpoints.load(workdir, "vae", {"model": vae}, opt) or {"step": 0, "seconds": 0.0}
    step, seconds = progress["step"], progress["seconds"]
    t_last, t0 = time.monotonic(), time.monotonic()
    while step < cfg.steps:
        x = vae_batch(cfg, step)
        for group in opt.param_groups:
            group["lr"] = checkpoints.lr_at(step, cfg.steps, cfg.lr, cfg.warmup)
        y = reconstruct(vae, x)
        loss = (y - x).pow(2).mean() + 0.5 * (y - x).abs().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(vae.parameters(), 1.0)
        opt.step()
        step += 1
        if step % 25 == 0 or step == cfg.steps:
            now = time.monotonic()
            seconds += now - t_last
            t_last = now
            psnr = 10 * math.log10(4 / max((y.detach().clamp(-1, 1) - x).pow(2).mean().item(), 1e-12))
            log(
                f"vae step {step}/{cfg.steps} loss {loss.item():.4f} batch PSNR {psnr:.2f} dB ({seconds:.0f} s trained)"
            )
            checkpoints.save(workdir, "vae", {"model": vae}, opt, {"step": step, "seconds": seconds})
            if now > deadline and step < cfg.steps:
                return None
    del t0
    return vae


# --- 2. calibration -----------------------------------------------------------------------------------------


@torch.no_grad()
def calibrate_(vae: torch.nn.Module, clips: int = 32, seed: int = 0) -> dict:
    """Fold a per-channel affine into ``vae.conv1`` (encoder side) and ``vae.conv2`` (decoder side) so that
    ComfyUI's Wan21 ``process_in`` of our latents has zero mean and unit spread per channel on training clips.
    Returns the statistics before and after."""
    fmt = latent_format()
    mean_w, std_w = fmt.latents_mean.flatten(), fmt.latents_std.flatten()
    x = torch.from_numpy(np.stack([make_clip(seed + i).frames for i in range(clips)])).permute(0, 4, 1, 2, 3)
    z = torch.cat([vae.encode(x[i : i + 4] * 2 - 1) for i in range(0, clips, 4)])
    mu, sigma = z.mean(dim=(0, 2, 3, 4)), z.std(dim=(0, 2, 3, 4))
    live = sigma > 1e-4 * sigma.max()
    a = torch.where(live, std_w / sigma.clamp_min(1e-12), torch.zeros_like(sigma))
    b = torch.where(live, mean_w - a * mu, mean_w)
    c = len(mu)
    w1, b1 = vae.conv1.weight.data, vae.conv1.bias.data  # [2c, 2c, 1, 1, 1]: the mean half is channels [0, c)
    w1[:c] *= a.view(c, 1, 1, 1, 1)
    b1[:c] = a * b1[:c] + b
    w2, b2 = vae.conv2.weight.data, vae.conv2.bias.data  # [c, c, 1, 1, 1]
    cols = w2[:, :, 0, 0, 0].clone()
    inv = torch.where(live, 1 / a.clamp_min(1e-12), torch.zeros_like(a))
    # decoder(z') = W·z + c with z = (z' − b)/a on live channels and the old constant μ on dead ones.
    b2 += -(cols * (b * inv).view(1, c)).sum(1) + (cols * torch.where(live, 0, mu).view(1, c)).sum(1)
    w2[:, :, 0, 0, 0] = cols * inv.view(1, c)
    z2 = fmt.process_in(torch.cat([vae.encode(x[i : i + 4] * 2 - 1) for i in range(0, clips, 4)]))
    return {
        "raw_mean": mu.tolist(),
        "raw_std": sigma.tolist(),
        "processed_mean": z2.mean(dim=(0, 2, 3, 4)).tolist(),
        "processed_std": z2.std(dim=(0, 2, 3, 4)).tolist(),
    }


# --- 3. the DiT's data --------------------------------------------------------------------------------------


def start_frame_video(first: torch.Tensor, frames: int = FRAMES) -> torch.Tensor:
    """What ``WanImageToVideo`` encodes for a start image: the image, then grey 0.5. first [3, H, W] in 0..1 →
    [3, frames, H, W] in 0..1."""
    video = torch.full((3, frames, *first.shape[-2:]), 0.5)
    video[:, 0] = first
    return video


@torch.no_grad()
def encode_dataset(vae: torch.nn.Module, cfg: DitConfig, workdir: Path, deadline: float, log: Log) -> Path | None:
    """Latents of training clips [0, cfg.train_clips) and of their start-frame conditioning, in chunks of 16
    clips (resumable); returns the folder when all are there."""
    folder = workdir / "latents"
    folder.mkdir(exist_ok=True)
    from safetensors.torch import save_file

    chunk = 16
    for first in range(0, cfg.train_clips, chunk):
        path = folder / f"clips_{first:06d}.safetensors"
        if path.exists():
            continue
        if time.monotonic() > deadline:
            return None
        seeds = range(first, min(first + chunk, cfg.train_clips))
        video = torch.from_numpy(np.stack([make_clip(s).frames for s in seeds])).permute(0, 4, 1, 2, 3)
        cond = torch.stack([start_frame_video(v[:, 0]) for v in video])
        z = torch.cat([vae.encode(video[i : i + 4] * 2 - 1) for i in range(0, len(seeds), 4)])
        zc = torch.cat([vae.encode(cond[i : i + 4] * 2 - 1) for i in range(0, len(seeds), 4)])
        tmp = path.with_suffix(".partial")
        save_file({"latent": z.half().contiguous(), "start": zc.half().contiguous()}, str(tmp))
        tmp.replace(path)
        log(f"encode clips {seeds.stop}/{cfg.train_clips}")
    return folder


def load_dataset(folder: Path) -> tuple[torch.Tensor, torch.Tensor]:
    from safetensors.torch import load_file

    parts = [load_file(str(p)) for p in sorted(folder.glob("clips_*.safetensors"))]
    return torch.cat([p["latent"] for p in parts]).float(), torch.cat([p["start"] for p in parts]).float()


# --- all of it ----------------------------------------------------------------------------------------------


def run(cfg: TrainConfig, workdir: Path, out: Path, minutes: float, log: Log) -> bool:
    """Runs (or resumes) every stage until ``minutes`` have passed; True when both files are written."""
    torch.manual_seed(0)
    deadline = time.monotonic() + minutes * 60
    workdir.mkdir(parents=True, exist_ok=True)
    calibrated = workdir / "vae_calibrated.safetensors"
    from safetensors.torch import load_file, save_file

    if calibrated.exists():
        vae = build_vae(cfg.vae.width)
        vae.load_state_dict(load_file(str(calibrated)))
        stats = json.loads((workdir / "calibration.json").read_text())
    else:
        vae = train_vae(cfg.vae, workdir, deadline, log)
        if vae is None:
            return False
        stats = calibrate_(vae, cfg.vae.calibration_clips)
        (workdir / "calibration.json").write_text(json.dumps(stats))
        save_file({k: v.contiguous() for k, v in vae.state_dict().items()}, str(calibrated))
        log("vae calibrated: processed latent std per channel " + " ".join(f"{s:.2f}" for s in stats["processed_std"]))
    vae.requires_grad_(False)
    data = encode_dataset(vae, cfg.dit, workdir, deadline, log)
    if data is None:
        return False
    dit = train_dit(cfg.dit, data, workdir, deadline, log)
    if dit is not None and cfg.dit.restart_steps:
        dit = train_dit_restart(cfg.dit, data, workdir, fp16_rounded(dit), deadline, log)
    if dit is None:
        return False
    stages = ("vae", "dit", "dit2") if cfg.dit.restart_steps else ("vae", "dit")
    seconds = {s: json.loads((workdir / f"{s}.progress.json").read_text())["seconds"] for s in stages}
    vae_file, dit_file = export(vae, dit, cfg, out, {"trained_seconds": seconds})
    log(f"wrote {vae_file} and {dit_file}")
    return True
