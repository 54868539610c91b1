"""One frame of the motion preview, for the edit canvas while the user drags: the image warped along the tracks.

The same computation as IV_TrajectoryToFlow → IV_MotionPreview (``tracks_to_flow`` then ``warp``), for a single
frame. A frame's flow depends only on where each region is at frame 0 and at that frame (``_Region`` reads
``path[f] - path[0]``), so the flow of frame f is the flow of a two-frame clip whose tracks go straight from their
frame-0 place to their frame-f place: computing it costs one frame, not the clip.

The route that serves it is public (anything that reaches ComfyUI's port can call it), so the work of one request
is bounded before it is done: ``MAX_POSITIONS`` track places in a reply, ``MAX_PREVIEW_WORK`` for the warped frame
(``preview_work``), and reference images read through ``ImageCache``, bounded in bytes.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from dataclasses import replace

import numpy as np
import torch
from PIL import Image, ImageOps

from .flow import flow_work, tracks_to_flow
from .trajectory import INTERPOLATIONS, Tracks, parse_tracks
from .warp import warp

# Track places in one reply (tracks × frames): 4096 frames of 64 tracks, or 128 frames of 2048; about 4 MB of JSON.
MAX_POSITIONS = 1 << 18
# Work for one warped frame, in flow_work's units: about 0.5 s on a 2-core CPU (a pixel-frame ~10 ns, a pass ~0.4 ms).
# 64 tracks on a 768² preview take a tenth of it; 100 tracks held by 20 anchors are over it.
MAX_PREVIEW_WORK = 50_000_000
# The longest side of the warped frame the route returns.
MIN_PREVIEW_SIDE, MAX_PREVIEW_SIDE = 16, 2048
# Decoded reference images kept for the next request (a drag asks for the same image again and again).
IMAGE_CACHE_BYTES = 64 * 2**20


def track_positions(tracks: Tracks | str | dict | list, frames: int, interpolation: str = "smooth") -> np.ndarray:
    """Every track's place at every frame, in the tracks' own space (as the flow moves them).

    returns [N, frames, 2] (x, y); anchors stay at their first point
    """
    tracks = parse_tracks(tracks)
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"interpolation must be one of {INTERPOLATIONS}, got {interpolation!r}")
    pos = tracks.resample(max(int(frames), 1), interpolation)
    for i, t in enumerate(tracks.tracks):
        if t.anchor:
            pos[i] = pos[i, :1]
    return pos


def preview_work(
    size: tuple[int, int],
    tracks: Tracks,
    frame: int,
    frames: int,
    *,
    interpolation: str = "smooth",
    falloff: float = 1.0,
    radius: float | None = None,
) -> int:
    """The work ``preview_frame`` does for a ``size`` = (width, height) image, in ``flow_work``'s units; 0 where
    the frame is the image itself."""
    width, height = size
    if tracks.width is None or tracks.height is None:
        tracks = tracks.with_size(width, height)
    if frame == 0 or not tracks.tracks:
        return 0
    two = single_frame_tracks(tracks, frame, frames, interpolation)
    return flow_work(two, 2, height, width, interpolation="linear", falloff=falloff, radius=radius)


def single_frame_tracks(tracks: Tracks, frame: int, frames: int, interpolation: str) -> Tracks:
    """Tracks of a two-frame clip whose frame 1 is frame ``frame`` of ``tracks`` (straight, keyframed 0 → 1)."""
    pos = tracks.resample(frames, interpolation)
    keys = np.array([0.0, 1.0])
    moved = tuple(
        replace(t, points=np.stack((pos[i, 0], pos[i, frame])), frames=keys) if not t.anchor else t
        for i, t in enumerate(tracks.tracks)
    )
    return replace(tracks, tracks=moved, frame_count=2)


def preview_frame(
    image: torch.Tensor,
    tracks: Tracks | str | dict | list,
    frame: int,
    frames: int,
    *,
    interpolation: str = "smooth",
    falloff: float = 1.0,
    radius: float | None = None,
    masks: torch.Tensor | None = None,
) -> torch.Tensor:
    """Frame ``frame`` of the motion preview of a ``frames``-long clip.

    image: [H, W, C] or [1, H, W, C] in [0, 1] (ComfyUI's IMAGE layout)  ->  [H, W, C]
    Tracks that state no size are taken to be in this image's pixels.
    """
    if image.ndim == 4:
        image = image[0]
    height, width = int(image.shape[0]), int(image.shape[1])
    tracks = parse_tracks(tracks)
    if tracks.width is None or tracks.height is None:
        tracks = tracks.with_size(width, height)
    frames = max(int(frames), 1)
    frame = min(max(int(frame), 0), frames - 1)
    if frame == 0 or not tracks.tracks:
        return image
    two = single_frame_tracks(tracks, frame, frames, interpolation)
    # Straight two-point tracks: "linear" reproduces the positions computed above exactly.
    flow, _ = tracks_to_flow(two, 2, height, width, masks, interpolation="linear", falloff=falloff, radius=radius)
    warped = warp(image.movedim(-1, 0)[None], flow[1:].to(image.dtype))
    return warped[0].movedim(0, -1).clamp(0.0, 1.0)


def preview_size(size: tuple[int, int], max_size: int) -> tuple[int, int]:
    """(width, height) of an image of ``size`` shrunk to fit ``max_size`` a side, as ``Image.thumbnail`` does."""
    width, height = size
    if max(width, height) <= max_size:
        return width, height
    scale = max_size / max(width, height)
    return max(round(width * scale), 1), max(round(height * scale), 1)


def image_size(path: str) -> tuple[int, int]:
    """(width, height) of an image file as it is shown (EXIF orientation applied), read from its header only.

    Raises ValueError when Pillow cannot read the file as an image, or when it holds more pixels than Pillow
    decodes (``Image.MAX_IMAGE_PIXELS``, twice over: its decompression-bomb guard).
    """
    try:
        with Image.open(path) as img:
            width, height = img.size
            # EXIF the header carries (img.getexif() decodes a whole PNG to look past its pixels).
            exif = Image.Exif()
            if img.info.get("exif"):
                exif.load(img.info["exif"])
            turned = exif.get(0x0112) in (5, 6, 7, 8)  # orientations that swap the sides
    except Image.DecompressionBombError as e:
        raise ValueError(f"holds more pixels than an image may ({e})") from None
    except (OSError, SyntaxError, ValueError) as e:  # Pillow's errors for files that are not images it reads
        raise ValueError(f"is not an image Pillow can read ({type(e).__name__})") from None
    return (height, width) if turned else (width, height)


def load_image(path: str, max_size: int) -> torch.Tensor:
    """The image at ``path`` (EXIF orientation applied), shrunk to fit ``max_size`` a side.  ->  [H, W, 3] uint8

    JPEGs are decoded at a reduced scale where that suffices (``draft``); other formats decode at full size first.
    Raises ValueError for a file Pillow cannot decode.
    """
    try:
        with Image.open(path) as img:
            img.draft("RGB", (max_size, max_size))
            img = ImageOps.exif_transpose(img).convert("RGB")
            if max(img.size) > max_size:
                img.thumbnail((max_size, max_size), Image.BILINEAR)
            return torch.from_numpy(np.array(img, dtype=np.uint8))
    except Image.DecompressionBombError as e:
        raise ValueError(f"holds more pixels than an image may ({e})") from None
    except (OSError, SyntaxError, ValueError) as e:
        raise ValueError(f"could not be decoded ({type(e).__name__}: {e})") from None


class ImageCache:
    """Decoded images by (path, modification time, file size, max_size), least recently used first out, at most
    ``max_bytes`` of pixels in all (an image larger than that is returned and not kept). Safe to share between
    threads; two threads asking for the same new image may both decode it."""

    def __init__(self, max_bytes: int = IMAGE_CACHE_BYTES):
        self.max_bytes = max_bytes
        self.bytes = 0
        self._images: OrderedDict[tuple, torch.Tensor] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._images)

    def get(self, path: str, max_size: int) -> torch.Tensor:
        """``load_image(path, max_size)``, from the cache while the file is unchanged.  ->  [H, W, 3] uint8"""
        stat = os.stat(path)
        key = (path, stat.st_mtime_ns, stat.st_size, max_size)
        with self._lock:
            if key in self._images:
                self._images.move_to_end(key)
                return self._images[key]
        image = load_image(path, max_size)
        size = image.numel() * image.element_size()
        with self._lock:
            if size <= self.max_bytes and key not in self._images:
                self._images[key] = image
                self.bytes += size
                while self.bytes > self.max_bytes:
                    _, old = self._images.popitem(last=False)
                    self.bytes -= old.numel() * old.element_size()
        return image
