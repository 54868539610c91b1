"""Trajectories to motion: tracks_to_flow + warp for 16 frames at 512x512 with 8 tracks, against one full-size
SD1.5 UNet forward at 512x512 (batch 1) in the same run. Target <= 0.02: a drag previews interactively."""

import torch
from harness import Report, median_seconds

FRAMES, SIZE, TRACKS = 16, 512, 8


def scene_tracks() -> dict:
    from comfyui_interactivevideo.devkit.scenes import busy_tracks

    return busy_tracks(SIZE, TRACKS)


def run() -> Report:
    from comfyui_interactivevideo.devkit import comfy_env, sd15

    comfy_env.boot()  # the UNet baseline runs through ComfyUI; the pack's core is then importable by its name
    from comfyui_interactivevideo import core

    torch.manual_seed(0)
    tracks = core.parse_tracks(scene_tracks())
    image = torch.rand(1, 3, SIZE, SIZE)

    def drag_preview():
        flow, _ = core.tracks_to_flow(tracks, FRAMES, SIZE, SIZE, interpolation="smooth")
        return core.warp(image, flow)

    unet = sd15.build_model(seed=0, model_channels=320).model
    latent, context = torch.randn(1, 4, SIZE // 8, SIZE // 8), torch.randn(1, 77, 768)

    @torch.no_grad()
    def unet_forward():
        return unet.apply_model(latent, torch.full((1,), 500.0), c_crossattn=context)

    report = Report(f"flow: tracks_to_flow + warp, {FRAMES} frames {SIZE}x{SIZE}, {TRACKS} tracks (CPU)")
    preview, _ = median_seconds(drag_preview, repeats=7)
    forward, _ = median_seconds(unet_forward, repeats=3)
    report.ratio("tracks_to_flow + warp", preview, "one SD1.5 UNet forward 512x512", forward, target=0.02)
    return report
