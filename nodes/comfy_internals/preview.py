"""The edit canvas's live motion preview: ``POST /interactivevideo/preview`` on ComfyUI's own server.

Request (JSON)::

    {"tracks": "<tracks JSON>", "frames": 16, "frame": 8, "interpolation": "smooth", "falloff": 1.0, "radius": 0,
     "image": {"filename": "ball.png", "subfolder": "", "type": "input"}, "max_size": 512}

``image`` is optional: a file of ComfyUI's input, output or temp folder (LoadImage's widget value, or the node's
last ``executed`` preview), resolved with ``folder_paths``; a path that leaves its folder is refused. Reply::

    {"positions": [[[x, y] per frame] per track], "width": W, "height": H, "frame": f,
     "image": "data:image/jpeg;base64,..."}   # the warped frame, only when an image was given

The positions (track space, every frame) drive the canvas's frame slider, so the slider and the flow share one
interpolation (``core.trajectory``); the frame is ``core.preview.preview_frame`` (``tracks_to_flow`` + ``warp``).

The route is public: anything that reaches ComfyUI's port can call it. Every field is checked against the
declaration of the node input it stands for (Edit Canvas's ``tracks`` and ``frames``, Trajectory to Flow's
``interpolation``, ``falloff``, ``radius``; the reference against a paint layer's largest image) before any work,
and the work and memory of one request are bounded before they are spent (body size, track places, warp work,
image size, free memory); a bad field is answered 400 ``{"error": "<field>: <what is wrong>; <what to send>"}``, a
body over the cap 413, a missing image file 404 (``routes``, shared with the reference route). At most ``WORKERS``
requests compute at once, on threads of their own. The contract, with its limits, is docs/http-api.md.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import io
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from ...core.flow import flow_bytes
from ...core.paint import MAX_LAYER_PIXELS
from ...core.preview import (
    MAX_POSITIONS,
    MAX_PREVIEW_SIDE,
    MAX_PREVIEW_WORK,
    MIN_PREVIEW_SIDE,
    ImageCache,
    image_size,
    preview_frame,
    preview_size,
    preview_work,
    track_positions,
)
from ...core.trajectory import TrackError, Tracks, parse_tracks
from .routes import (
    RequestError,
    add_post_route,
    checked_value,
    json_object,
    read_body,
    refuse_unknown,
    resolve_view_file,
    view_reference,
)

ROUTE = "/interactivevideo/preview"
FIELDS = ("tracks", "frames", "frame", "interpolation", "falloff", "radius", "image", "max_size")
DEFAULT_MAX_SIZE = 1024
# Requests computing at once: each holds at most one preview's memory (see _memory_need), so this bounds the
# route's peak; more wait in line, their bodies already capped.
WORKERS = 2
EXAMPLE = '{"tracks": "<tracks JSON>", "frames": 16, "frame": 8} (docs/http-api.md)'
TRACKS_HINT = "send tracks as Edit Canvas's tracks input takes them (docs/editing.md, Tracks)"

_executor: ThreadPoolExecutor | None = None
_images = ImageCache()


@dataclass(frozen=True)
class PreviewRequest:
    tracks: Tracks
    frames: int
    frame: int
    interpolation: str
    falloff: float
    radius: float
    max_size: int
    image: tuple[str, str, str] | None  # (filename, subfolder, type)

    def flow_settings(self) -> dict:
        """The keyword arguments of ``preview_frame`` and ``preview_work`` (radius 0: the default radius)."""
        return {"interpolation": self.interpolation, "falloff": self.falloff, "radius": self.radius or None}


@functools.cache
def _specs() -> dict:
    """The declarations each field is checked against: the nodes' own inputs, and the route's frame and size.

    Imported here rather than at the top: the node modules import this package.
    """
    from comfy_api.latest import io as v3

    from ..checks import input_spec
    from ..trajectory import IV_TrajectoryEditor, IV_TrajectoryToFlow

    return {
        "tracks": input_spec(IV_TrajectoryEditor, "tracks"),
        "frames": input_spec(IV_TrajectoryEditor, "frames"),
        "interpolation": input_spec(IV_TrajectoryToFlow, "interpolation"),
        "falloff": input_spec(IV_TrajectoryToFlow, "falloff"),
        "radius": input_spec(IV_TrajectoryToFlow, "radius"),
        "max_size": v3.Int.Input("max_size", default=DEFAULT_MAX_SIZE, min=MIN_PREVIEW_SIDE, max=MAX_PREVIEW_SIDE),
        "frame": lambda frames: v3.Int.Input("frame", default=0, min=0, max=frames - 1),
    }


def max_body_bytes() -> int:
    """Room for the longest tracks text a node takes, JSON-escaped (a quote becomes two bytes), and the rest."""
    from ..checks import MAX_TEXT_CHARS

    return 2 * MAX_TEXT_CHARS + 65536


def parse_request(raw: bytes) -> PreviewRequest:
    """The request body, checked field by field (RequestError naming the first bad one)."""
    body = json_object(raw, EXAMPLE)
    refuse_unknown(body, FIELDS)
    specs = _specs()
    tracks = _tracks(body.get("tracks"), specs["tracks"])
    frames = checked_value("frames", specs["frames"], body.get("frames"))
    frame = checked_value("frame", specs["frame"](frames), body.get("frame"))
    if len(tracks) * frames > MAX_POSITIONS:
        raise RequestError(
            "frames",
            f"{frames} frames of {len(tracks)} tracks are {len(tracks) * frames:,} track places, more than the "
            f"{MAX_POSITIONS:,} one reply carries; send at most {MAX_POSITIONS // len(tracks):,} frames for "
            f"{len(tracks)} tracks, or fewer tracks",
        )
    return PreviewRequest(
        tracks=tracks,
        frames=frames,
        frame=frame,
        interpolation=checked_value("interpolation", specs["interpolation"], body.get("interpolation")),
        falloff=float(checked_value("falloff", specs["falloff"], body.get("falloff"))),
        radius=float(checked_value("radius", specs["radius"], body.get("radius"))),
        max_size=checked_value("max_size", specs["max_size"], body.get("max_size")),
        image=None if body.get("image") is None else view_reference(body["image"]),
    )


def _tracks(value, spec) -> Tracks:
    # The node's `tracks` input is text; the route also takes the same JSON unquoted, measured as that text.
    text = spec.default if value is None else value if isinstance(value, str) else json.dumps(value)
    checked_value("tracks", spec, text)
    try:
        return parse_tracks(text)
    except TrackError as e:
        raise RequestError("tracks", f"{e}; {TRACKS_HINT}") from None


def _memory_need(width: int, height: int) -> int:
    # The two-frame flow (its own guard's unit), and the image as float, warped, clamped, and its JPEG bytes.
    return flow_bytes(2, height, width) + width * height * 3 * 4 * 4


def compute_preview(request: PreviewRequest) -> dict:
    """The reply to one checked request (see the module docstring); RequestError otherwise."""
    from ..checks import memory_shortfall

    tracks, path = request.tracks, None
    reply: dict = {"frame": request.frame, "interpolation": request.interpolation}
    if request.image is not None:
        filename, subfolder, kind = request.image
        path = resolve_view_file(filename, subfolder, kind)
        try:
            natural = image_size(path)
        except ValueError as e:
            raise RequestError("image", f"{filename!r} {e}; send a PNG, JPEG or WebP image") from None
        if natural[0] * natural[1] > MAX_LAYER_PIXELS:  # the canvas paints on this image: a paint layer's limit
            raise RequestError(
                "image",
                f"{filename!r} is {natural[0]}x{natural[1]} pixels, more than the {MAX_LAYER_PIXELS:,} an image to "
                "paint on may have (8192 x 8192); send a smaller image",
            )
        if tracks.width is None or tracks.height is None:
            tracks = tracks.with_size(*natural)  # unsized tracks are in the reference's own pixels
        size = preview_size(natural, request.max_size)
        _check_work(request, tracks, size)
        shortfall = memory_shortfall(_memory_need(*size))
        if shortfall:
            raise RequestError("max_size", f"a {size[0]}x{size[1]} preview {shortfall}; send a smaller max_size")
    reply["positions"] = np.round(track_positions(tracks, request.frames, request.interpolation), 2).tolist()
    reply["width"], reply["height"] = tracks.width, tracks.height
    if path is not None:
        try:
            image = _images.get(path, request.max_size).to(torch.float32).div_(255.0)
        except FileNotFoundError:  # removed since it was found
            raise RequestError("image", f"{filename!r} is no longer in ComfyUI's {kind} folder", 404) from None
        except ValueError as e:
            raise RequestError("image", f"{filename!r} {e}; send a PNG, JPEG or WebP image") from None
        with torch.inference_mode():
            frame_image = preview_frame(image, tracks, request.frame, request.frames, **request.flow_settings())
        reply["image"] = _jpeg_data_url(frame_image)
    return reply


def _check_work(request: PreviewRequest, tracks: Tracks, size: tuple[int, int]) -> None:
    try:
        work = preview_work(size, tracks, request.frame, request.frames, **request.flow_settings())
    except TrackError as e:  # a track's mask: the route takes no MASK batch
        raise RequestError("tracks", f"{e}; {TRACKS_HINT}") from None
    if work > MAX_PREVIEW_WORK:
        anchors = sum(t.anchor for t in tracks.tracks)
        raise RequestError(
            "tracks",
            f"{len(tracks)} tracks ({anchors} anchors) on a {size[0]}x{size[1]} preview are {work:,} units of work, "
            f"more than the {MAX_PREVIEW_WORK:,} of one live preview; send fewer tracks or anchors (each anchor "
            "adds a pass for every moving track) or a smaller max_size, or run Trajectory to Flow and Motion "
            "Preview in a prompt",
        )


def _jpeg_data_url(image: torch.Tensor) -> str:
    buf = io.BytesIO()
    Image.fromarray((image.numpy() * 255.0 + 0.5).astype(np.uint8)).save(buf, format="JPEG", quality=90)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def answer(raw: bytes) -> bytes:
    """The JSON reply to one request body (on a worker thread: parsing and encoding are work too)."""
    return json.dumps(compute_preview(parse_request(raw))).encode()


async def _handle(request) -> bytes:
    raw = await read_body(request, max_body_bytes())
    return await asyncio.get_running_loop().run_in_executor(_executor, answer, raw)


def register_preview_route() -> bool:
    """Add the route to ComfyUI's server once; False where there is no server (scripts, tests without one)."""
    global _executor
    _executor = _executor or ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="iv-preview")
    return add_post_route(ROUTE, _handle)
