"""Tracks: the user's dragged paths, parsed from the three JSON dialects and resampled to positions per frame.

Coordinates are pixels of the track space (``Tracks.width`` × ``Tracks.height``, the reference image), origin at
the top-left corner of the image, x right, y down; pixel (row i, column j) has its centre at (j + 0.5, i + 0.5).
The first point of a track is its position at frame 0.

Accepted text (a public contract: workflow files store it):

- ours: ``{"version": 1, "width": W, "height": H, "tracks": [{"points": [[x, y], ...], "frames": [...],
  "radius": r, "mask": k, "anchor": false}]}``. Without ``frames`` a track spans the whole clip at constant
  speed along its path; with ``frames`` (one strictly increasing frame index per point) it passes point i at
  frame ``frames[i]`` and holds its ends outside them.
- ComfyUI ``WanTrackToVideo`` / KJNodes Spline Editor: ``[[{"x": .., "y": ..}, ...], ...]`` (one track may be
  unwrapped), one point per frame.
- DragNUWA: ``[[[x, y], ...], ...]``, one point per frame.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from scipy.interpolate import PchipInterpolator

INTERPOLATIONS = ("linear", "smooth")
# Limits of a track text, so that no text can ask for unbounded work or overflow: flow costs grow with the number
# of tracks (2000 tracks on a 64x64 image take ~15 s), coordinates beyond a million pixels are no drag anyone drew
# (points outside the picture are allowed; they are not infinite), and the track space is an image size.
MAX_TRACKS = 2048
MAX_POINTS = 16384
MAX_COORDINATE = 1_000_000
MAX_SPACE = 65536
MAX_KEYFRAME = 1_000_000
# Dense samples per segment between two points: enough for sub-0.01 px arc-length error on smooth curves.
_SAMPLES_PER_SEGMENT = 64


class TrackError(ValueError):
    """A track text that cannot be used; the message names the track (0-based) and the problem."""


@dataclass(frozen=True, eq=False)
class Track:
    """One track. points: [N, 2] float64 (x, y); frames: [N] strictly increasing keyframes, or None."""

    points: np.ndarray
    frames: np.ndarray | None = None
    radius: float | None = None
    mask: int | None = None
    anchor: bool = False

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Track):
            return NotImplemented
        same_frames = (self.frames is None and other.frames is None) or (
            self.frames is not None and other.frames is not None and np.array_equal(self.frames, other.frames)
        )
        return (
            np.array_equal(self.points, other.points)
            and same_frames
            and (self.radius, self.mask, self.anchor) == (other.radius, other.mask, other.anchor)
        )

    __hash__ = None  # type: ignore[assignment]

    def positions(self, times: np.ndarray, frames: int, interpolation: str = "linear") -> np.ndarray:
        """Where the track is at (fractional) ``times`` of a ``frames``-long clip.

        times: [T] frame indices  ->  [T, 2] (x, y)
        Without keyframes the track moves at constant speed along its path from frame 0 to frame
        ``frames - 1``; with keyframes, at constant speed along the path between consecutive keyframes.
        """
        times = np.asarray(times, dtype=np.float64)
        curve, length, knots = _dense_curve(self.points, interpolation)
        if self.frames is not None:
            arc = np.interp(times, self.frames.astype(np.float64), knots)
        else:
            span = max(frames - 1, 1)
            arc = np.clip(times / span, 0.0, 1.0) * length[-1]
        return np.stack((np.interp(arc, length, curve[:, 0]), np.interp(arc, length, curve[:, 1])), axis=-1)


@dataclass(frozen=True)
class Tracks:
    """All tracks of one edit, in the pixel space ``width`` × ``height`` (None: the generation size).

    ``frame_count``: the clip length the tracks were made for (set by the editor node; None in parsed text).
    """

    tracks: tuple[Track, ...]
    width: int | None = None
    height: int | None = None
    frame_count: int | None = None
    warnings: tuple[str, ...] = field(default=(), compare=False)

    def __len__(self) -> int:
        return len(self.tracks)

    def resample(self, frames: int, interpolation: str = "linear") -> np.ndarray:
        """Positions of every track at every frame.  ->  [N, frames, 2] (x, y) in track-space pixels."""
        if interpolation not in INTERPOLATIONS:
            raise ValueError(f"interpolation must be one of {INTERPOLATIONS}, got {interpolation!r}")
        times = np.arange(frames, dtype=np.float64)
        if not self.tracks:
            return np.zeros((0, frames, 2))
        return np.stack([t.positions(times, frames, interpolation) for t in self.tracks])

    def with_size(self, width: int, height: int) -> Tracks:
        """These tracks with their space set to ``width`` × ``height`` where the text did not state one."""
        if self.width is not None and self.height is not None:
            return self
        sized = replace(self, width=int(width), height=int(height))
        return replace(sized, warnings=tuple(sized.out_of_frame()))

    def out_of_frame(self) -> list[str]:
        """One message per track with a point outside its space (allowed: objects may leave the frame)."""
        if self.width is None or self.height is None:
            return []
        messages = []
        for i, t in enumerate(self.tracks):
            x, y = t.points[:, 0], t.points[:, 1]
            outside = np.flatnonzero((x < 0) | (y < 0) | (x > self.width) | (y > self.height))
            if outside.size:
                messages.append(
                    f"track {i}: point(s) {outside.tolist()} lie outside the {self.width}x{self.height} image; "
                    "the region leaves the frame there"
                )
        return messages

    def to_json(self) -> str:
        """The canonical (ours, version 1) text of these tracks."""
        body: dict[str, Any] = {"version": 1}
        if self.width is not None and self.height is not None:
            body["width"], body["height"] = self.width, self.height
        out = []
        for t in self.tracks:
            item: dict[str, Any] = {"points": [[float(x), float(y)] for x, y in t.points]}
            if t.frames is not None:
                item["frames"] = [int(f) if float(f).is_integer() else float(f) for f in t.frames]
            if t.radius is not None:
                item["radius"] = t.radius
            if t.mask is not None:
                item["mask"] = t.mask
            item["anchor"] = t.anchor
            out.append(item)
        body["tracks"] = out
        return json.dumps(body)


def parse_tracks(text_or_obj: str | dict | list | Tracks) -> Tracks:
    """Read any of the three track dialects (see the module docstring) into ``Tracks``.

    Raises ``TrackError`` naming the track and the problem: bad JSON, no points, a non-finite coordinate,
    keyframes that do not increase or do not match the points, a bad radius or mask index, and anything beyond
    the limits (``MAX_TRACKS`` tracks, ``MAX_POINTS`` points per track, coordinates and radii within
    ±``MAX_COORDINATE`` pixels, a track space of at most ``MAX_SPACE`` pixels a side).
    """
    if isinstance(text_or_obj, Tracks):
        return text_or_obj
    obj = _load_json(text_or_obj) if isinstance(text_or_obj, str) else text_or_obj
    if isinstance(obj, dict):
        tracks = _parse_ours(obj)
    elif isinstance(obj, list):
        _check_count(len(_unwrap_single(obj)))
        tracks = Tracks(tuple(_parse_list_track(i, t) for i, t in enumerate(_unwrap_single(obj))))
    else:
        raise TrackError(f"tracks must be a JSON object or list, got {type(obj).__name__}")
    return replace(tracks, warnings=tuple(tracks.out_of_frame()))


def _load_json(text: str) -> Any:
    text = text.strip()
    if not text:
        return []
    try:
        return _json(text)
    except json.JSONDecodeError as first:
        # KJNodes' Spline Editor writes Python-style single quotes; ComfyUI's WanTrackToVideo accepts them too.
        try:
            return _json(text.replace("'", '"'))
        except json.JSONDecodeError:
            raise TrackError(
                f"tracks are not valid JSON ({first.msg} at line {first.lineno} column {first.colno}); "
                'expected {"version": 1, "tracks": [{"points": [[x, y], ...]}]}'
            ) from None


def _json(text: str) -> Any:
    """json.loads, with the errors that are not a JSONDecodeError turned into a TrackError that says what."""
    try:
        return json.loads(text)
    except RecursionError:
        raise TrackError(
            "tracks are nested too deeply to be tracks (thousands of brackets inside each other); "
            'expected {"version": 1, "tracks": [{"points": [[x, y], ...]}]}'
        ) from None
    except json.JSONDecodeError:
        raise
    except ValueError as e:  # e.g. an integer of more than 4300 digits
        raise TrackError(f"tracks hold a number JSON cannot read here ({str(e).split(';')[0]})") from None


def _unwrap_single(obj: list) -> list:
    # A single WanTrackToVideo track is a bare list of {"x", "y"} points.
    if obj and isinstance(obj[0], dict):
        return [obj]
    return obj


def _parse_ours(obj: dict) -> Tracks:
    version = obj.get("version", 1)
    if version != 1:
        raise TrackError(f"tracks version {version!r} is not supported (this pack reads version 1)")
    width, height = obj.get("width"), obj.get("height")
    if (width is None) != (height is None):
        raise TrackError("tracks give only one of width/height; give both or neither")
    if width is not None and not all(_is_number(v) and _within(v, 1, MAX_SPACE) for v in (width, height)):
        raise TrackError(
            f"tracks width/height must be numbers of pixels from 1 to {MAX_SPACE}, got {_short(width)} x "
            f"{_short(height)}"
        )
    items = obj.get("tracks")
    if not isinstance(items, list):
        raise TrackError('tracks object has no "tracks" list')
    _check_count(len(items))
    tracks = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise TrackError(f"track {i}: expected an object with points, got {type(item).__name__}")
        points = _points(i, item.get("points"))
        frames = _keyframes(i, item.get("frames"), len(points))
        radius = item.get("radius")
        if radius is not None and not (_is_number(radius) and _within(radius, 0.0, MAX_COORDINATE) and radius > 0):
            raise TrackError(
                f"track {i}: radius must be a positive number of pixels up to {MAX_COORDINATE:,}, got {_short(radius)}"
            )
        mask = item.get("mask")
        if mask is not None and not (isinstance(mask, int) and not isinstance(mask, bool) and mask >= 0):
            raise TrackError(f"track {i}: mask must be a non-negative index into the MASK batch, got {mask!r}")
        anchor = item.get("anchor", False)
        if not isinstance(anchor, bool):
            raise TrackError(f"track {i}: anchor must be true or false, got {anchor!r}")
        tracks.append(Track(points, frames, None if radius is None else float(radius), mask, anchor))
    size = (None, None) if width is None else (int(round(width)), int(round(height)))
    return Tracks(tuple(tracks), *size)


def _parse_list_track(i: int, item: Any) -> Track:
    if isinstance(item, list) and item and isinstance(item[0], dict):
        try:
            raw = [[p["x"], p["y"]] for p in item]
        except (KeyError, TypeError):
            raise TrackError(f'track {i}: every point must be {{"x": .., "y": ..}}') from None
    else:
        raw = item
    points = _points(i, raw)
    # These dialects give one point per frame.
    return Track(points, np.arange(len(points), dtype=np.float64))


def _check_count(count: int) -> None:
    if count > MAX_TRACKS:
        raise TrackError(f"{count:,} tracks, more than the {MAX_TRACKS:,} this pack draws; merge or drop tracks")


def _points(i: int, raw: Any) -> np.ndarray:
    if not isinstance(raw, list) or not raw:
        raise TrackError(f"track {i}: has no points")
    if len(raw) > MAX_POINTS:
        raise TrackError(f"track {i}: {len(raw):,} points, more than the {MAX_POINTS:,} a track may have")
    if not all(isinstance(p, (list, tuple)) and len(p) == 2 and all(_is_number(v) for v in p) for p in raw):
        raise TrackError(f"track {i}: every point must be [x, y] with two numbers")
    for k, p in enumerate(raw):
        if any(isinstance(v, float) and not math.isfinite(v) for v in p):
            raise TrackError(f"track {i}: point {k} is not finite (NaN or infinity)")
        if not all(_within(v, -MAX_COORDINATE, MAX_COORDINATE) for v in p):
            raise TrackError(
                f"track {i}: point {k} is {_short(p)}; coordinates must lie within ±{MAX_COORDINATE:,} pixels "
                "(points may leave the picture, but not by more)"
            )
    return np.asarray(raw, dtype=np.float64)


def _keyframes(i: int, raw: Any, count: int) -> np.ndarray | None:
    if raw is None:
        return None
    if not isinstance(raw, list) or not all(_is_number(f) for f in raw):
        raise TrackError(f"track {i}: frames must be a list of frame indices, one per point")
    if len(raw) != count:
        raise TrackError(f"track {i}: {len(raw)} frames for {count} points; give one frame index per point")
    if not all(_within(f, 0, MAX_KEYFRAME) for f in raw):
        raise TrackError(f"track {i}: frames must be finite, from 0 to {MAX_KEYFRAME:,}, got {_short(raw)}")
    frames = np.asarray(raw, dtype=np.float64)
    if (np.diff(frames) <= 0).any():
        raise TrackError(f"track {i}: frames must be strictly increasing, got {raw}")
    return frames


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _within(v: int | float, lo: float, hi: float) -> bool:
    """lo <= v <= hi for any JSON number: false for NaN and infinities, exact for integers of any length."""
    return lo <= v <= hi  # comparisons with NaN are false; Python compares big ints with floats exactly


def _short(value: Any, limit: int = 80) -> str:
    try:
        text = repr(value)
    except ValueError:  # an integer too long for Python to print
        return "a number too long to print"
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} characters)"


def _dense_curve(points: np.ndarray, interpolation: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The path through ``points`` sampled densely, its cumulative arc length, and the arc length at each point.

    points: [N, 2]  ->  curve [M, 2], length [M], knots [N]
    ``smooth`` is a PCHIP (monotone cubic) spline of x and y over chord length: it passes every point and never
    overshoots between two of them, so a path drawn to the edge of an object stays on the object's side.
    """
    n = len(points)
    if n == 1:
        return points.copy(), np.zeros(1), np.zeros(1)
    chord = np.concatenate(([0.0], np.cumsum(np.linalg.norm(np.diff(points, axis=0), axis=1))))
    steps = np.linspace(0.0, 1.0, _SAMPLES_PER_SEGMENT, endpoint=False)
    seg = np.concatenate([chord[k] + steps * (chord[k + 1] - chord[k]) for k in range(n - 1)] + [chord[-1:]])
    # Repeated points (zero-length segments) carry no path; keep the parameter strictly increasing for PCHIP.
    keep = np.concatenate(([True], np.diff(chord) > 0))
    if interpolation == "smooth" and keep.sum() >= 3:
        curve = np.stack([PchipInterpolator(chord[keep], points[keep, d])(seg) for d in range(2)], axis=-1)
    else:
        curve = np.stack([np.interp(seg, chord, points[:, d]) for d in range(2)], axis=-1)
    length = np.concatenate(([0.0], np.cumsum(np.linalg.norm(np.diff(curve, axis=0), axis=1))))
    knots = length[np.searchsorted(seg, chord)]
    return curve, length, knots


def positions(tracks: Tracks, frames: int, width: int, height: int, interpolation: str = "linear") -> np.ndarray:
    """Positions per frame rescaled from the track space to a ``width`` × ``height`` generation.

    returns [N, frames, 2] (x, y) in pixels of width × height
    """
    pos = tracks.resample(frames, interpolation)
    return pos * np.asarray(scale_factors(tracks, width, height))


def scale_factors(tracks: Tracks, width: int, height: int) -> tuple[float, float]:
    """(sx, sy) from the track space to width × height; (1, 1) when the tracks state no size."""
    if tracks.width is None or tracks.height is None:
        return 1.0, 1.0
    return width / tracks.width, height / tracks.height


def from_point_tracks(
    path: np.ndarray, visibility: np.ndarray | None = None, width: int | None = None, height: int | None = None
) -> Tracks:
    """Tracks from per-frame points (ComfyUI's core ``TRACKS``: Wan-Move, ``GenerateTracks``, KJNodes' spline
    editor through ``WanMoveTracksFromCoords``).

    path: [T, N, 2] (x, y) pixels, one point per frame and track; visibility: [T, N] bool, or None (all visible).
    A track passes its visible points at their frames (keyframes) and holds still before the first and after the
    last; frames where it is hidden are bridged by the same interpolation. A track never visible is left out.
    width, height: the pixel space of the points (None: the generation size).
    """
    path = np.asarray(path, dtype=np.float64)
    if path.ndim != 3 or path.shape[-1] != 2:
        raise TrackError(f"point tracks must be [frames, tracks, 2], got {list(path.shape)}")
    if not np.isfinite(path).all():
        raise TrackError("point tracks hold a non-finite coordinate (NaN or infinity)")
    frames, count = path.shape[:2]
    seen = np.ones((frames, count), dtype=bool) if visibility is None else np.asarray(visibility, dtype=bool)
    if seen.shape != (frames, count):
        raise TrackError(f"track visibility must be [frames, tracks] = {[frames, count]}, got {list(seen.shape)}")
    tracks = []
    for i in range(count):
        keys = np.flatnonzero(seen[:, i])
        if keys.size:
            tracks.append(Track(points=path[keys, i].copy(), frames=keys.astype(np.int64)))
    return Tracks(tuple(tracks), width, height, frame_count=frames)


def to_point_tracks(
    tracks: Tracks, frames: int, width: int, height: int, interpolation: str = "smooth"
) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame points of every track in pixels of ``width`` × ``height``: ComfyUI's core ``TRACKS`` layout.

    returns (path [frames, N, 2] float32, visibility [frames, N] bool, all True: the editor's tracks are always
    in the picture's plane, even where they leave its frame)
    """
    pos = positions(tracks, frames, width, height, interpolation)  # [N, frames, 2]
    path = np.ascontiguousarray(pos.transpose(1, 0, 2), dtype=np.float32)
    return path, np.ones(path.shape[:2], dtype=bool)
