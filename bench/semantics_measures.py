"""The semantic benchmark's measures of one render and the rows its tables print (bench_semantics.py runs the
renders): which objects an edit touches, each measure against the render without instructions, and the table
format written into the docs."""

from __future__ import annotations

import numpy as np


def touched(kind: str, scene) -> set[int]:
    return {
        "drag": {scene.dragged},
        "paint": {scene.painted},
        "paint+drag": {scene.dragged},
        "drag & paint": {scene.dragged, scene.painted},
    }.get(kind, set())


def measure(frames, baseline, preview_last, scene, kind: str) -> dict:
    from comfyui_interactivevideo.devkit.tiny_wan import scenes as S

    out: dict = {}
    drags = kind in ("drag", "paint+drag", "drag & paint")
    paints = kind in ("paint", "paint+drag", "drag & paint")
    if drags:
        colour = scene.new_colour if kind == "paint+drag" else scene.clip.objects[scene.dragged].colour
        out["traj_mean"], out["traj_final"], out["found"] = S.trajectory_error(frames, scene, colour)
        out["vacated_bg"], out["vacated_stretched"] = S.vacated(frames, scene, preview_last)
    if paints:
        out["paint"] = S.paint_error(frames, scene, scene.dragged if kind == "paint+drag" else scene.painted)
    free = [k for k in range(len(scene.clip.objects)) if k not in touched(kind, scene)]
    out["free_speed"] = S.speeds(frames, scene, free)
    out["free_speed_base"] = S.speeds(baseline, scene, free)
    out["free_travel"] = S.travels(frames, scene, free)
    out["free_travel_base"] = S.travels(baseline, scene, free)
    if free:
        out["intact"] = float(np.mean(S.intact(frames, scene, free)))
        out["intact_base"] = float(np.mean(S.intact(baseline, scene, free)))
    out["co_motion"] = S.co_motion(frames, scene, free)
    out["co_motion_base"] = S.co_motion(baseline, scene, free)
    where = S.background_pixels(scene, frames, baseline)
    out["outside"] = S.outside_change(frames, scene, where)
    out["outside_base"] = S.outside_change(baseline, scene, where)
    out["flicker"] = S.flicker(frames, where)
    out["flicker_base"] = S.flicker(baseline, where)
    return out


def mean(rows: list[dict], key: str) -> float:
    vals = [r[key] for r in rows if key in r and r[key] == r[key]]
    return float(np.mean(vals)) if vals else float("nan")


def kept_speed(rows: list[dict], by: str = "travel") -> float:
    """Free objects' speed with the instructions over their speed without (objects the model moves, ≥ 0.3 px/f):
    by their travel, or by their path speed ("speed": frame to frame), which also counts this model's wobble
    (docs/tiny-wan.md), so that steadier frames read as lost motion."""
    num = den = 0.0
    for r in rows:
        for v, b in zip(r[f"free_{by}"], r[f"free_{by}_base"], strict=True):
            if b == b and v == v and b >= 0.3:
                num, den = num + v, den + b
    return num / den if den else float("nan")


def fmt(v: float, digits: int = 1) -> str:
    return "–" if v != v else f"{v:.{digits}f}"


def row(label: str, setting: str, rows: list[dict], seconds: float | None) -> str:
    from comfyui_interactivevideo.devkit.tiny_wan.config import SIZE

    tm, tf = mean(rows, "traj_mean"), mean(rows, "traj_final")
    traj = "–" if tm != tm else f"{tm:.1f} ({100 * tm / SIZE:.1f} %)"
    final = "–" if tf != tf else f"{tf:.1f} ({100 * tf / SIZE:.1f} %)"
    counted = sum(1 for r in rows if r.get("vacated_bg", float("nan")) == r.get("vacated_bg", float("nan")))
    vac = "–" if not counted else f"{mean(rows, 'vacated_bg'):.0f} / {mean(rows, 'vacated_stretched'):.0f} ({counted})"
    return (
        f"| {label} | {setting} | {traj} | {final} | {fmt(mean(rows, 'found') * 100, 0)} | "
        f"{fmt(mean(rows, 'paint'))} | {fmt(mean(rows, 'outside'))} ({fmt(mean(rows, 'outside_base'))}) | "
        f"{fmt(mean(rows, 'flicker'), 2)} ({fmt(mean(rows, 'flicker_base'), 2)}) | "
        f"{fmt(kept_speed(rows) * 100, 0)} % ({fmt(kept_speed(rows, 'speed') * 100, 0)} %) | "
        f"{fmt(mean(rows, 'intact') * 100, 0)} "
        f"({fmt(mean(rows, 'intact_base') * 100, 0)}) | {fmt(mean(rows, 'co_motion'), 2)} | {vac} | "
        f"{'–' if seconds is None else f'{seconds:.2f}'} |"
    )


HEADER = (
    "| edit | setting | trajectory error, mean px (% of width) | final | found % | paint error /255 | "
    "outside change /255 (without) | flicker /255 (without) | free objects' speed kept: travel (path) | "
    "free objects intact % (without) | "
    "co-motion px/f | vacated: to background / to stretched (scenes) | s/clip |\n|" + "---|" * 13
)


def write_between(path, marker: str, text: str) -> None:
    start, end = f"<!-- {marker}:start -->", f"<!-- {marker}:end -->"
    content = path.read_text()
    if start not in content:
        raise RuntimeError(f"{path} has no {start} marker")
    head, rest = content.split(start, 1)
    _, tail = rest.split(end, 1)
    path.write_text(f"{head}{start}\n{text}\n{end}{tail}")
