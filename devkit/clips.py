"""Procedural clips with their ground truth: a few flat-coloured objects moving along smooth paths over a quiet
background. They are what the small Wan model (``devkit/tiny_wan``) learns from, what its benchmark scenes are
made of, and what the demo starts from.

A clip is seeded and deterministic (``make_clip(seed)`` gives the same pixels on every machine: numpy's PCG64 and
float64 arithmetic, no threads), made in a few milliseconds, and keeps what an evaluation needs: per object and
frame its true centre (also where it is occluded or outside the picture), its visible coverage and its colour,
and the background without any object (where a dragged object was, the "vacated place", shows this).

Objects are drawn with anti-aliased edges (coverage from a signed distance), in a fixed depth order, so they
occlude one another. Object colours come from ``OBJECT_PALETTE`` (saturated), backgrounds from
``BACKGROUND_PALETTE`` (muted), so a colour tracker (``track_colour``) tells an object from the background.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# Saturated colours for objects, muted ones for backgrounds: every object colour is at least ~0.45 (RGB, 0..1)
# from every background colour, so a colour threshold of 0.25 separates them even on a textured background.
OBJECT_PALETTE = np.array(
    [
        [0.90, 0.15, 0.15],  # red
        [0.15, 0.80, 0.20],  # green
        [0.20, 0.35, 0.95],  # blue
        [0.95, 0.85, 0.15],  # yellow
        [0.90, 0.20, 0.85],  # magenta
        [0.15, 0.85, 0.90],  # cyan
        [0.98, 0.55, 0.10],  # orange
        [0.97, 0.97, 0.97],  # white
    ]
)
OBJECT_COLOUR_NAMES = ["red", "green", "blue", "yellow", "magenta", "cyan", "orange", "white"]
BACKGROUND_PALETTE = np.array(
    [
        [0.18, 0.18, 0.20],  # charcoal
        [0.30, 0.28, 0.26],  # warm grey
        [0.12, 0.16, 0.30],  # night blue
        [0.14, 0.26, 0.18],  # moss
        [0.34, 0.24, 0.20],  # clay
        [0.24, 0.22, 0.32],  # dusk
    ]
)
KINDS = ("disc", "square", "ring")


@dataclass
class ObjectTrack:
    """One object of a clip. ``centres`` [F, 2] (x, y) in pixels, also outside the picture; ``coverage``
    [F, H, W] in 0..1, what of it is visible in each frame (occluders and the picture's edge removed)."""

    kind: str
    colour: np.ndarray  # [3] RGB in 0..1
    size: float  # disc and ring: radius; square: half side (pixels)
    centres: np.ndarray
    coverage: np.ndarray = field(repr=False)

    def speed(self) -> np.ndarray:
        """[F - 1] pixels moved per frame."""
        return np.linalg.norm(np.diff(self.centres, axis=0), axis=1)


@dataclass
class Clip:
    """``frames`` [F, H, W, 3] in 0..1; ``background`` [H, W, 3]; ``objects`` in drawing order (the last on top)."""

    seed: int
    frames: np.ndarray = field(repr=False)
    background: np.ndarray = field(repr=False)
    objects: list[ObjectTrack]

    @property
    def size(self) -> tuple[int, int]:
        return self.frames.shape[1], self.frames.shape[2]


def coverage(kind: str, size: float, centre: tuple[float, float], h: int, w: int, angle: float = 0.0) -> np.ndarray:
    """[h, w] anti-aliased coverage (0..1) of one shape centred at ``centre`` (x, y), from its signed distance."""
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    dx, dy = xs + 0.5 - centre[0], ys + 0.5 - centre[1]
    if kind == "disc":
        inside = size - np.hypot(dx, dy)
    elif kind == "ring":
        d = np.hypot(dx, dy)
        thickness = max(2.5, 0.4 * size)
        inside = np.minimum(size - d, d - (size - thickness))
    elif kind == "square":
        c, s = np.cos(angle), np.sin(angle)
        u, v = c * dx + s * dy, -s * dx + c * dy
        inside = size - np.maximum(np.abs(u), np.abs(v))
    else:
        raise ValueError(f"unknown shape kind {kind!r}; one of {KINDS}")
    return np.clip(inside + 0.5, 0.0, 1.0)


def background(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """[h, w, 3] flat, a two-colour gradient, or a low-frequency texture, all from the muted palette."""
    base = BACKGROUND_PALETTE[rng.integers(len(BACKGROUND_PALETTE))]
    style = rng.choice(["flat", "gradient", "texture"], p=[0.3, 0.35, 0.35])
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    if style == "flat":
        return np.broadcast_to(base, (h, w, 3)).copy()
    if style == "gradient":
        other = BACKGROUND_PALETTE[rng.integers(len(BACKGROUND_PALETTE))]
        a = rng.uniform(0, 2 * np.pi)
        t = np.cos(a) * xs / w + np.sin(a) * ys / h
        t = (t - t.min()) / max(np.ptp(t), 1e-9)
        return base * (1 - t[..., None]) + other * t[..., None]
    # A few plane waves of long wavelength: soft blotches of ±0.06 around the base colour.
    tex = np.zeros((h, w))
    for _ in range(4):
        k = rng.uniform(0.5, 2.5) * 2 * np.pi / max(h, w)
        a = rng.uniform(0, 2 * np.pi)
        tex += np.sin(k * (np.cos(a) * xs + np.sin(a) * ys) + rng.uniform(0, 2 * np.pi))
    tex /= 4
    tint = rng.uniform(0.5, 1.0, size=3)
    return np.clip(base + 0.06 * tex[..., None] * tint, 0, 1)


def path(rng: np.random.Generator, frames: int, h: int, w: int, size: float, still: bool) -> np.ndarray:
    """[frames, 2] a smooth path: a start inside the picture, a speed of 0.5–3.5 px per frame, a heading that
    turns at a constant rate (curved paths) and a mild speed change; ``still`` gives a constant position."""
    start = np.array([rng.uniform(size, w - size), rng.uniform(size, h - size)])
    if still:
        return np.repeat(start[None], frames, axis=0)
    speed = rng.uniform(0.5, 3.5)
    accel = rng.uniform(-0.04, 0.04) * speed
    heading = rng.uniform(0, 2 * np.pi)
    turn = rng.uniform(-0.12, 0.12)
    out = [start]
    for f in range(1, frames):
        v = max(0.0, speed + accel * f)
        a = heading + turn * f
        out.append(out[-1] + v * np.array([np.cos(a), np.sin(a)]))
    return np.stack(out)


def make_clip(seed: int, size: int = 128, frames: int = 17, objects: int | None = None) -> Clip:
    """A clip of ``frames`` frames of ``size``² pixels with 1–3 objects (``objects`` to fix the count); about one
    object in four stays still, fast ones may leave the picture, paths may cross (the later object occludes)."""
    rng = np.random.default_rng(seed)
    h = w = size
    bg = background(rng, h, w)
    n = int(objects if objects is not None else rng.integers(1, 4))
    colours = rng.choice(len(OBJECT_PALETTE), size=n, replace=False)
    scale = size / 128
    tracks: list[ObjectTrack] = []
    covers = []
    for i in range(n):
        kind = KINDS[rng.integers(len(KINDS))]
        radius = rng.uniform(8, 18) * scale
        centres = path(rng, frames, h, w, radius, still=rng.uniform() < 0.25)
        angle = rng.uniform(0, np.pi / 2) if kind == "square" else 0.0
        cov = np.stack([coverage(kind, radius, tuple(c), h, w, angle) for c in centres])
        covers.append(cov)
        tracks.append(ObjectTrack(kind, OBJECT_PALETTE[colours[i]].copy(), float(radius), centres, cov))
    video = np.repeat(bg[None], frames, axis=0)
    for t, cov in zip(tracks, covers, strict=True):
        video = video * (1 - cov[..., None]) + t.colour * cov[..., None]
    # What of each object shows: its coverage less what the objects drawn after it cover.
    for i, t in enumerate(tracks):
        visible = covers[i].copy()
        for later in covers[i + 1 :]:
            visible *= 1 - later
        t.coverage = visible
    return Clip(seed, video.astype(np.float32), bg.astype(np.float32), tracks)


def track_colour(frames: np.ndarray, colour: np.ndarray, threshold: float = 0.25) -> tuple[np.ndarray, np.ndarray]:
    """A colour tracker: per frame, the centroid (x, y) and the area (pixels) of the pixels within ``threshold``
    (Euclidean, RGB 0..1) of ``colour``. frames [F, H, W, 3] → centres [F, 2] (NaN where nothing is found),
    areas [F]."""
    f, h, w, _ = frames.shape
    near = np.linalg.norm(frames - colour.reshape(1, 1, 1, 3), axis=-1) < threshold
    areas = near.reshape(f, -1).sum(1).astype(np.float64)
    ys, xs = np.mgrid[0:h, 0:w] + 0.5
    with np.errstate(invalid="ignore", divide="ignore"):
        cx = (near * xs).reshape(f, -1).sum(1) / areas
        cy = (near * ys).reshape(f, -1).sum(1) / areas
    centres = np.stack([cx, cy], axis=1)
    centres[areas == 0] = np.nan
    return centres, areas


def travel(centres: np.ndarray, found: np.ndarray) -> float:
    """Straight-line speed from the first to the last frame where the object is found (px per frame), NaN when it
    is found in fewer than two: an object that wobbles in place has a path speed but no travel.

    centres: [F, 2]; found: [F] bool."""
    seen = np.flatnonzero(found)
    if len(seen) < 2:
        return float("nan")
    return float(np.linalg.norm(centres[seen[-1]] - centres[seen[0]]) / (seen[-1] - seen[0]))
