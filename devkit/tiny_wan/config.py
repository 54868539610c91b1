"""Sizes, seeds and names of the small Wan model: everything the training, the files and the tests agree on."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

WEIGHTS = Path(__file__).resolve().parent / "weights"
VAE_FILE = "iv_tiny_wan21_vae.safetensors"
DIT_FILE = "iv_tiny_wan21_i2v.safetensors"

# Clip seeds: training uses [0, train_clips); the VAE's held-out clips start at VAE_HELD_OUT; benchmark scenes
# (bench/, tests) start at SCENES and are never used in training.
VAE_HELD_OUT = 1_000_000
DIT_HELD_OUT = 1_500_000
SCENES = 2_000_000

SIZE = 128  # pixels, square
FRAMES = 17  # 1 + 4k: Wan's causal layout, 5 latent frames
SHIFT = 3.0  # the flow shift the DiT is trained for (ModelSamplingSD3 in the demo); any shift works


@dataclass(frozen=True)
class VaeConfig:
    width: int = 16  # ComfyUI reads it from decoder.head.0.gamma
    steps: int = 3000
    batch: int = 4
    crop: int = 48
    frames: tuple[int, ...] = (1, 5, 9)  # clip lengths drawn per batch (1 + 4k)
    lr: float = 5e-4
    warmup: int = 50
    calibration_clips: int = 32
    seed: int = 0


@dataclass(frozen=True)
class DitConfig:
    dim: int = 256  # a multiple of 128: ComfyUI's detection sets num_heads = dim // 128
    ffn_dim: int = 1024
    layers: int = 4
    train_clips: int = 960
    steps: int = 2500
    batch: int = 8
    lr: float = 4e-4
    warmup: int = 200
    ema: float = 0.999
    seed: int = 0
    # The loss weight on latent cells that an object covers is 1 + object_weight (dit.py says why).
    object_weight: float = 0.0
    # Cycle 2, a warm restart from cycle 1's fp16-rounded average (dit.py): 0 steps leaves it out.
    restart_steps: int = 2000
    restart_lr: float = 2e-4
    restart_warmup: int = 100
    restart_object_weight: float = 4.0


@dataclass(frozen=True)
class TrainConfig:
    vae: VaeConfig = field(default_factory=VaeConfig)
    dit: DitConfig = field(default_factory=DitConfig)

    def as_dict(self) -> dict:
        return asdict(self)


def smoke() -> TrainConfig:
    """A few steps of everything at the real model sizes (the training test)."""
    return TrainConfig(
        # From the hand-set codec start, Adam at the full run's rate first makes the VAE worse (the full run's
        # batch PSNR dips for ~50 steps before it climbs): a gentle rate shows learning within 40 small steps.
        VaeConfig(steps=40, batch=2, crop=16, frames=(1,), lr=5e-5, warmup=5, calibration_clips=4),
        DitConfig(train_clips=4, steps=6, batch=2, warmup=1, restart_steps=2, restart_warmup=1),
    )
