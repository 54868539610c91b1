"""Smoke run of the harness: an SD1.5-structured UNet (width 64, random weights) on 16 frames vs 1 frame."""

import torch
from harness import Report, median_seconds


def run() -> Report:
    from comfyui_interactivevideo.devkit import comfy_env, sd15

    comfy_env.boot()
    model = sd15.build_model(seed=0, model_channels=64).model
    ctx = torch.randn(1, 77, 768)

    def forward(frames: int):
        x = torch.randn(frames, 4, 32, 32)

        @torch.no_grad()
        def call():
            return model.apply_model(x, torch.full((frames,), 5.0), c_crossattn=ctx.expand(frames, -1, -1))

        return call

    report = Report("smoke: UNet forward cost per frame (256x256, width 64)")
    one, _ = median_seconds(forward(1), repeats=5)
    sixteen, _ = median_seconds(forward(16), repeats=3)
    report.ratio("16 frames", sixteen, "1 frame", one)
    report.ratio("16 frames / 16 (per frame)", sixteen / 16, "1 frame", one)
    return report
