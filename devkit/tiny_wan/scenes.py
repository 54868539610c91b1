"""Edit scenes on held-out procedural clips, and what a user would measure on the clip a model renders from them.

A scene is a clip's first frame (the start image) with its ground truth, three roles among its objects (one to
drag along a requested track, one to recolour, the rest left free) and the request itself (the track, one position
per frame, and the paint colour). Scene seeds start at ``config.SCENES``: no clip of them was used in training.

Measures, on decoded frames [F, H, W, 3] in 0..1, with a colour tracker (``clips.track_colour``) standing in for
CoTracker:

- trajectory error: distance (px) from the dragged object's tracked centre to the requested position, mean over
  frames 1.. and at the last frame (a frame where the object is lost counts the picture's diagonal);
- free speed: mean speed (px/frame) of the objects no instruction touches;
- co-motion: the free objects' mean velocity along the drag's direction (px/frame), to compare with the render
  without instructions;
- paint error: mean |colour − paint colour| (/255) inside the recoloured object, its frame-0 shape moved with its
  tracked centre and eroded by 2 px, over all frames;
- outside change: mean |frame − start image| (/255) on the background away from every object's path;
- vacated place: where the dragged object stood at frame 0 and has left by the last frame, and the stretched image
  the flow alone makes (motion preview) differs from the scene's true background by more than 12/255, the mean
  distance of the last frame to each (on a flat background the two agree there and the measure says nothing);
- free objects intact: the share of frames in which each free object is found with 50-150 % of its start area;
- flicker: mean |frame f − frame f−1| (/255) on the same background pixels as 'outside change'.
"""

from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

from ..clips import OBJECT_PALETTE, Clip, make_clip, track_colour, travel
from .config import FRAMES, SCENES, SIZE


@dataclass
class Scene:
    clip: Clip
    dragged: int
    painted: int
    new_colour: np.ndarray  # [3]
    track: np.ndarray  # [F, 2] requested (x, y) of the dragged object per frame
    radius: float
    curved: bool

    @property
    def image(self) -> np.ndarray:
        """[H, W, 3] the start image."""
        return self.clip.frames[0]

    @property
    def free(self) -> list[int]:
        return [i for i in range(len(self.clip.objects)) if i not in (self.dragged, self.painted)]

    def tracks_json(self) -> str:
        """The canvas's tracks: one keyframe per frame, so the request is explicit at every frame."""
        return json.dumps(
            {
                "version": 1,
                "width": SIZE,
                "height": SIZE,
                "tracks": [
                    {
                        "points": self.track.round(2).tolist(),
                        "frames": list(range(len(self.track))),
                        "radius": round(self.radius, 2),
                        "anchor": False,
                    }
                ],
            }
        )

    def paint_alpha(self, painted: int | None = None) -> np.ndarray:
        """[H, W] the paint's coverage: the object's frame-0 shape grown by one pixel."""
        cover = self.clip.objects[self.painted if painted is None else painted].coverage[0]
        return np.maximum.reduce([np.roll(np.roll(cover, dy, 0), dx, 1) for dy in (-1, 0, 1) for dx in (-1, 0, 1)])

    def painted_image(self, painted: int | None = None) -> np.ndarray:
        """[H, W, 3] the start image with the paint over it."""
        a = self.paint_alpha(painted)[..., None]
        return self.image * (1 - a) + self.new_colour * a

    def paint_layer(self, painted: int | None = None) -> bytes:
        """The paint as the canvas uploads it: an RGBA PNG with straight alpha."""
        rgba = np.zeros((SIZE, SIZE, 4), np.uint8)
        rgba[..., :3] = (self.new_colour * 255).round().astype(np.uint8)
        rgba[..., 3] = (self.paint_alpha(painted) * 255).round().astype(np.uint8)
        return png(rgba)


def png(array: np.ndarray) -> bytes:
    if array.dtype != np.uint8:
        array = (np.clip(array, 0, 1) * 255).round().astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


def curved_track(start: np.ndarray, length: float, heading: float, bend: float, frames: int = FRAMES) -> np.ndarray:
    """[frames, 2]: a path of ``length`` px from ``start`` leaving at ``heading`` (radians) and turning by ``bend``
    radians in all (0: straight), at constant speed."""
    t = np.linspace(0, 1, frames)
    if abs(bend) < 1e-6:
        return start + np.outer(t * length, [math.cos(heading), math.sin(heading)])
    r = length / bend
    angle = heading + bend * t
    return start + r * np.stack([np.sin(angle) - math.sin(heading), -np.cos(angle) + math.cos(heading)], axis=1)


def edit_scene(index: int, length: float | None = None, curved: bool | None = None, objects: int = 3) -> Scene:
    """Scene ``index`` (seeded from ``config.SCENES + index``): ``objects`` objects well inside the picture and
    apart; the first (a disc or square) is dragged along a straight or curved track of ``length`` px (drawn from
    24–56 px when None: short and long) that stays in view and clear of the others; the second is to be painted
    another palette colour; the rest are free."""
    seed = SCENES + index
    rng = np.random.default_rng(seed)
    curved = bool(rng.integers(2)) if curved is None else curved
    length = float(rng.uniform(24, 56)) if length is None else length
    for attempt in range(5000):
        # The layout is drawn before any frame is rendered, so a one-frame clip shows it at a 17th of the cost.
        clip = make_clip(seed * 1000 + attempt, frames=1, objects=objects)
        objs = clip.objects
        starts = np.array([o.centres[0] for o in objs])
        sizes = np.array([o.size for o in objs])
        if objs[0].kind == "ring" or objs[1].kind == "ring" or sizes[0] < 9:
            continue
        if np.any(starts - sizes[:, None] < 10) or np.any(starts + sizes[:, None] > SIZE - 10):
            continue
        apart = all(
            np.linalg.norm(starts[i] - starts[j]) > sizes[i] + sizes[j] + 12
            for i in range(objects)
            for j in range(i + 1, objects)
        )
        if not apart:
            continue
        bend = rng.choice([-1, 1]) * rng.uniform(0.8, 1.5) if curved else 0.0
        track = curved_track(starts[0], length, rng.uniform(0, 2 * math.pi), bend)
        margin = sizes[0] + 4
        if np.any(track < margin) or np.any(track > SIZE - margin):
            continue
        if any(np.min(np.linalg.norm(track - starts[j], axis=1)) < sizes[0] + sizes[j] + 8 for j in range(1, objects)):
            continue
        used = [tuple(o.colour) for o in objs]
        choices = [c for c in OBJECT_PALETTE[:7] if tuple(c) not in used]  # white is too near the greys' tracker
        new = np.array(choices[int(rng.integers(len(choices)))])
        clip = make_clip(seed * 1000 + attempt, objects=objects)
        return Scene(clip, 0, 1, new, track, float(sizes[0] + 3), curved)
    raise RuntimeError(f"no edit scene for index {index}")


# --- measures -----------------------------------------------------------------------------------------------

DIAGONAL = math.hypot(SIZE, SIZE)


def tracked(frames: np.ndarray, colour: np.ndarray) -> np.ndarray:
    """[F, 2] tracked centre, NaN where not found."""
    return track_colour(frames, colour)[0]


def trajectory_error(frames: np.ndarray, scene: Scene, colour: np.ndarray) -> tuple[float, float, float]:
    """(mean over frames 1.., last frame, share found) of the distance from the tracked object to the track."""
    d = np.linalg.norm(tracked(frames, colour) - scene.track[: len(frames)], axis=1)
    found = np.isfinite(d)
    d[~found] = DIAGONAL
    return float(d[1:].mean()), float(d[-1]), float(found.mean())


def speeds(frames: np.ndarray, scene: Scene, objects: list[int]) -> list[float]:
    """Mean tracked speed (px/frame) of each of ``objects`` (frames where it is found)."""
    out = []
    for k in objects:
        steps = np.linalg.norm(np.diff(tracked(frames, scene.clip.objects[k].colour), axis=0), axis=1)
        out.append(float(np.nanmean(steps)) if np.isfinite(steps).any() else float("nan"))
    return out


def travels(frames: np.ndarray, scene: Scene, objects: list[int]) -> list[float]:
    """Travel (px/frame, first to last frame found, straight) of each of ``objects``: unlike ``speeds``, blind to
    an object shifting back and forth in place, which this small model's objects do (docs/tiny-wan.md)."""
    out = []
    for k in objects:
        centres = tracked(frames, scene.clip.objects[k].colour)
        out.append(travel(centres, np.isfinite(centres[:, 0])))
    return out


def co_motion(frames: np.ndarray, scene: Scene, objects: list[int]) -> float:
    """Mean velocity of ``objects`` (those no instruction touches) along the drag's overall direction
    (px/frame); NaN with none."""
    direction = scene.track[-1] - scene.track[0]
    direction = direction / max(np.linalg.norm(direction), 1e-9)
    vs = []
    for k in objects:
        v = np.diff(tracked(frames, scene.clip.objects[k].colour), axis=0) @ direction
        if np.isfinite(v).any():
            vs.append(float(np.nanmean(v)))
    return float(np.mean(vs)) if vs else float("nan")


def object_pixels(scene: Scene, index: int, centre: np.ndarray, erode: int = 2) -> np.ndarray:
    """[H, W] bool: the object's frame-0 shape moved to ``centre`` and eroded by ``erode`` px."""
    shape = scene.clip.objects[index].coverage[0] >= 0.999
    for _ in range(erode):
        shape = shape & np.roll(shape, 1, 0) & np.roll(shape, -1, 0) & np.roll(shape, 1, 1) & np.roll(shape, -1, 1)
    dx, dy = np.round(centre - scene.clip.objects[index].centres[0]).astype(int)
    moved = np.zeros_like(shape)
    ys, xs = np.nonzero(shape)
    ys, xs = ys + dy, xs + dx
    keep = (ys >= 0) & (ys < shape.shape[0]) & (xs >= 0) & (xs < shape.shape[1])
    moved[ys[keep], xs[keep]] = True
    return moved


def paint_error(frames: np.ndarray, scene: Scene, painted: int) -> float:
    """Mean |colour − paint colour| (/255) inside the painted object over all frames. The object is found by its
    new colour or, where that fails, its old one; a frame where neither is found counts the largest error."""
    errors = []
    old = scene.clip.objects[painted].colour
    new_c, old_c = tracked(frames, scene.new_colour), tracked(frames, old)
    last = scene.clip.objects[painted].centres[0]
    for f in range(len(frames)):
        centre = new_c[f] if np.all(np.isfinite(new_c[f])) else old_c[f]
        if not np.all(np.isfinite(centre)):
            errors.append(255.0)
            continue
        last = centre
        inside = object_pixels(scene, painted, last)
        errors.append(float(np.abs(frames[f][inside] - scene.new_colour).mean() * 255) if inside.any() else 255.0)
    return float(np.mean(errors))


def background_pixels(scene: Scene, *renders: np.ndarray) -> np.ndarray:
    """[H, W] bool: pixels farther than size + 6 px from every object's tracked and requested positions, in every
    frame of every render given (and of the start image): where nothing should move."""
    h, w = scene.clip.size
    ys, xs = np.mgrid[0:h, 0:w] + 0.5
    keep = np.ones((h, w), bool)
    points = [(scene.track, scene.clip.objects[scene.dragged].size)]
    for obj in scene.clip.objects:
        points.append((obj.centres[:1], obj.size))
        for frames in renders:
            for colour in (obj.colour, scene.new_colour):
                c = tracked(frames, colour)
                points.append((c[np.all(np.isfinite(c), axis=1)], obj.size))
    for centres, size in points:
        for x, y in centres:
            keep &= (xs - x) ** 2 + (ys - y) ** 2 > (size + 6) ** 2
    return keep


def outside_change(frames: np.ndarray, scene: Scene, where: np.ndarray) -> float:
    return float(np.abs(frames[:, where] - scene.image[where]).mean() * 255) if where.any() else float("nan")


def flicker(frames: np.ndarray, where: np.ndarray) -> float:
    return float(np.abs(np.diff(frames[:, where], axis=0)).mean() * 255) if where.any() else float("nan")


VACATED_CONTRAST = 12.0  # /255: where the stretched image and the true background can be told apart


def intact(frames: np.ndarray, scene: Scene, objects: list[int]) -> list[float]:
    """Per object of ``objects``: the share of frames where the tracker finds it with 50-150 % of its start area."""
    out = []
    for k in objects:
        obj = scene.clip.objects[k]
        _, areas = track_colour(frames, obj.colour)
        start = float((obj.coverage[0] >= 0.5).sum())
        out.append(float(((areas >= 0.5 * start) & (areas <= 1.5 * start)).mean()))
    return out


def vacated(frames: np.ndarray, scene: Scene, preview_last: np.ndarray) -> tuple[float, float]:
    """(distance to the true background, distance to the stretched image) of the last frame (/255, mean abs)
    where the dragged object stood at frame 0, has left by the end, and the two differ (NaN where they nowhere
    do)."""
    obj = scene.clip.objects[scene.dragged]
    start = obj.coverage[0] >= 0.999
    end = object_pixels(scene, scene.dragged, scene.track[-1], erode=0)
    grown = end.copy()
    for _ in range(3):
        grown |= np.roll(grown, 1, 0) | np.roll(grown, -1, 0) | np.roll(grown, 1, 1) | np.roll(grown, -1, 1)
    where = start & ~grown
    background = scene.clip.background
    where &= np.abs(preview_last - background).mean(-1) * 255 > VACATED_CONTRAST
    if where.sum() < 10:
        return float("nan"), float("nan")
    last = frames[-1][where]
    return (
        float(np.abs(last - scene.clip.background[where]).mean() * 255),
        float(np.abs(last - preview_last[where]).mean() * 255),
    )
