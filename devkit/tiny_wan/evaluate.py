"""The figures the small Wan model is held to, measured on clips and scenes it never trained on.

- VAE: PSNR of held-out clips (128², 17 frames) through ComfyUI's VAE object, and the colour error at object
  centres (disc and square: the fully covered pixels within 3 px of the centre; ring: its fully covered body).
- DiT: from a held-out start frame, no instructions, 20 steps: does a colour tracker find each object in every
  frame, does its area stay within ±20 % of the start frame's, and how fast do objects move compared with the
  training clips (speed distributions). Every measure is taken the same way on the scenes' own clips through the
  VAE, so the model is compared with what the same tracker reports for the motion it should learn; and speed is
  taken twice: per frame (the path) and from the first to the last frame found (travel), since an object that
  wobbles in place has a path speed but no travel.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ..clips import Clip, make_clip, track_colour, travel
from .config import DIT_HELD_OUT, FRAMES, VAE_HELD_OUT
from .render import Sampling, render


def centre_pixels(clip: Clip, obj_index: int, frame: int) -> np.ndarray:
    """[H, W] bool: where the object's true colour must show in ``frame`` (see the module docstring)."""
    obj = clip.objects[obj_index]
    h, w = clip.size
    ys, xs = np.mgrid[0:h, 0:w] + 0.5
    d = np.hypot(xs - obj.centres[frame, 0], ys - obj.centres[frame, 1])
    full = obj.coverage[frame] >= 0.999
    if obj.kind == "ring":
        thickness = max(2.5, 0.4 * obj.size)
        return full & (np.abs(d - (obj.size - thickness / 2)) <= max(0.5, thickness / 2 - 1))
    return full & (d <= min(3.0, obj.size / 2))


def round_trip(vae, frames: np.ndarray) -> torch.Tensor:
    """frames [F, H, W, 3] in 0..1 encoded and decoded by ComfyUI's VAE object  ->  [F, H, W, 3] float in 0..1."""
    return vae.decode(vae.encode(torch.from_numpy(frames)))[0].float().clamp(0, 1)


@torch.no_grad()
def vae_figures(vae, clips: int = 100) -> dict:
    """PSNR (dB) per clip and pooled, and colour error (/255) at object centres, over ``clips`` held-out clips."""
    psnrs, mses, errors = [], [], []
    for i in range(clips):
        clip = make_clip(VAE_HELD_OUT + i)
        x = torch.from_numpy(clip.frames)
        y = round_trip(vae, clip.frames)
        mse = (y - x).pow(2).mean().item()
        mses.append(mse)
        psnrs.append(10 * math.log10(1 / mse))
        y = y.numpy()
        for k, obj in enumerate(clip.objects):
            for f in range(FRAMES):
                where = centre_pixels(clip, k, f)
                if where.sum() >= 3:
                    errors.append(float(np.abs(y[f][where] - obj.colour).mean() * 255))
    return {
        "clips": clips,
        "psnr_mean": float(np.mean(psnrs)),
        "psnr_min": float(np.min(psnrs)),
        "psnr_pooled": 10 * math.log10(1 / float(np.mean(mses))),
        "colour_error_mean": float(np.mean(errors)),
        "colour_error_p95": float(np.percentile(errors, 95)),
        "colour_samples": len(errors),
    }


def evaluation_scene(seed: int) -> Clip:
    """A held-out scene whose objects all start well inside the picture (≥ 24 px from every edge) and apart, so
    that an object a tracker loses was lost by the model, not by the picture's edge."""
    for attempt in range(1000):
        clip = make_clip(seed * 1000 + attempt, objects=2)
        starts = np.array([o.centres[0] for o in clip.objects])
        sizes = np.array([o.size for o in clip.objects])
        inside = np.all((starts - sizes[:, None] >= 24) & (starts + sizes[:, None] <= clip.size[0] - 24))
        if inside and np.linalg.norm(starts[0] - starts[1]) > sizes.sum() + 16:
            return clip
    raise RuntimeError(f"no evaluation scene for seed {seed}")


def object_motion(frames: np.ndarray, clip: Clip) -> list[dict]:
    """Per object of ``clip``: found-rate, area ratios to frame 0 where the object is fully in view, speed (mean
    step between frames where it is found) and travel (first to last frame found, px per frame).

    frames: [F, H, W, 3] in 0..1."""
    out = []
    h, w = frames.shape[1:3]
    for obj in clip.objects:
        centres, areas = track_colour(frames, obj.colour)
        found = areas > 0.2 * areas[0] if areas[0] > 0 else np.zeros(len(areas), bool)
        margin = obj.size + 2
        in_view = (
            found
            & (centres[:, 0] > margin)
            & (centres[:, 0] < w - margin)
            & (centres[:, 1] > margin)
            & (centres[:, 1] < h - margin)
        )
        ratio = areas[in_view] / max(areas[0], 1)
        # Only between frames in which the object is found: the centre of a few stray pixels of its colour says
        # nothing about how fast it moves (counted, they put the 90th percentile at 6-8 px per frame for models
        # whose found objects move at 3.4-3.9; docs/tiny-wan.md).
        steps = np.linalg.norm(np.diff(centres, axis=0), axis=1)[found[1:] & found[:-1]]
        out.append(
            {
                "found": float(found.mean()),
                "area_ratio": ratio,
                "speed": float(np.nanmean(steps)) if np.isfinite(steps).any() else float("nan"),
                "travel": travel(centres, found),
            }
        )
    return out


QUANTILES = (10, 25, 50, 75, 90)


def quantiles(values: list[float]) -> dict:
    return dict(zip(QUANTILES, np.nanpercentile(values, QUANTILES).round(2).tolist(), strict=True))


def motion_summary(measures: list[dict]) -> dict:
    """The DiT's figures over objects (``object_motion``'s entries)."""
    found = np.array([m["found"] for m in measures])
    within = [float(np.mean(np.abs(m["area_ratio"] - 1) <= 0.2)) if len(m["area_ratio"]) else 0.0 for m in measures]
    speed, travelled = (np.array([m[key] for m in measures]) for key in ("speed", "travel"))
    return {
        "found_rate_mean": float(found.mean()),
        "objects_found_in_95pct_of_frames": float(np.mean(found >= 0.95)),
        "area_within_20pct_mean": float(np.mean(within)),
        "speed_quantiles": quantiles(speed),
        "travel_quantiles": quantiles(travelled),
        "still_share": float(np.mean(speed < 0.3)),
        "no_travel_share": float(np.mean(travelled < 0.3)),
    }


@torch.no_grad()
def dit_figures(dit, vae, scenes: int = 12, steps: int = 20) -> dict:
    """Rollouts from held-out start frames with no instructions ("model"), the same measures on the scenes' own
    clips through the VAE ("data"), and the clips' true speeds (ground truth, no tracker)."""
    model, data, truth = [], [], []
    for i in range(scenes):
        clip = evaluation_scene(DIT_HELD_OUT + i)
        frames = render(dit, vae, torch.from_numpy(clip.frames[:1]), Sampling(seed=i, steps=steps)).numpy()
        model += object_motion(frames, clip)
        data += object_motion(round_trip(vae, clip.frames).numpy(), clip)
        truth += [float(obj.speed().mean()) for obj in clip.objects]
    return {
        "objects": len(model),
        "model": motion_summary(model),
        "data": motion_summary(data),
        "true_speed_quantiles": quantiles(truth),
        "true_still_share": float(np.mean(np.array(truth) < 0.3)),
    }


def main(argv: list[str] | None = None) -> None:
    """Prints the figures for the committed files (``--only vae`` or ``--only dit`` for one set), with the seconds
    each took."""
    import argparse
    import json
    import time

    from . import files

    parser = argparse.ArgumentParser(prog="python -m comfyui_interactivevideo.devkit.tiny_wan.evaluate")
    parser.add_argument("--only", choices=("vae", "dit"), help="one set of figures (the VAE's take ~10 minutes)")
    wanted = parser.parse_args(argv).only
    vae, out = files.load_vae(), {}
    for name, figures in (("vae", lambda: vae_figures(vae)), ("dit", lambda: dit_figures(files.load_dit(), vae))):
        if wanted in (None, name):
            t = time.monotonic()
            out[name] = figures()
            out[name]["seconds"] = round(time.monotonic() - t, 1)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
