"""Flow noise: flow_noise for a 16-frame 64x64 latent (4 channels) along the flow of eight drags on a 512x512
image (the scene of bench_flow). Target <= 0.05 s on the CPU: it runs once per sampling, and on every preview
of a drag. Side by side: the former flow_noise (bilinear warp renormalised per sample) and plain torch.randn of
the same shape, measured in the same run."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from harness import Report

FRAMES, SIZE, TRACKS = 16, 512, 8
LATENT = (FRAMES, 4, SIZE // 8, SIZE // 8)


def scene_tracks() -> dict:
    from comfyui_interactivevideo.devkit.scenes import busy_tracks

    return busy_tracks(SIZE, TRACKS)


def run() -> Report:
    import torch
    from harness import Report, median_seconds

    from comfyui_interactivevideo.core.flow import tracks_to_flow
    from comfyui_interactivevideo.core.noise import _bilinear_warp_noise, flow_noise
    from comfyui_interactivevideo.core.warp import resize_flow

    flow, _ = tracks_to_flow(scene_tracks(), FRAMES, SIZE, SIZE, interpolation="smooth")
    frames, c, h, w = LATENT

    def former():
        """flow_noise as it was: resize_flow, three draws, the bilinear warp renormalised per sample."""
        grid = resize_flow(flow.float().cpu(), h, w)
        gen = torch.Generator().manual_seed(0)
        base = torch.randn((c, h, w), generator=gen)
        fresh = torch.randn(LATENT, generator=gen)
        torch.randn(LATENT, generator=gen)  # the former's per-frame draw for variation
        return _bilinear_warp_noise(base, grid, fresh)

    def plain():
        return torch.randn(LATENT, generator=torch.Generator().manual_seed(0))

    report = Report(f"noise: flow_noise {LATENT} along {TRACKS} drags on {SIZE}x{SIZE} (CPU)")
    ours, _ = median_seconds(lambda: flow_noise(LATENT, flow, seed=0), repeats=21, warmup=2)
    bilinear, _ = median_seconds(former, repeats=21, warmup=2)
    randn, _ = median_seconds(plain, repeats=21, warmup=2)
    report.absolute("flow_noise", ours, target=0.05)
    report.ratio("flow_noise", ours, "former flow_noise (bilinear, renormalised)", bilinear)
    report.ratio("flow_noise", ours, "torch.randn of the same shape", randn)
    return report
