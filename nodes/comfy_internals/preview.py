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
"""

from __future__ import annotations

import asyncio
import base64
import io
import logging
import os
from collections import OrderedDict

import numpy as np
import torch
from PIL import Image, ImageOps

from ...core.preview import preview_frame, track_positions
from ...core.trajectory import parse_tracks

log = logging.getLogger(__name__)

ROUTE = "/interactivevideo/preview"
MAX_SIZE = 2048
_registered = False
_images: OrderedDict[tuple, torch.Tensor] = OrderedDict()  # (path, mtime, size, max side) -> [H, W, 3]


def resolve_view_file(filename: str, subfolder: str = "", kind: str = "input") -> str:
    """Absolute path of a file as ``/view`` names it; ValueError for another folder type or a path that leaves it."""
    import folder_paths

    folders = {
        "input": folder_paths.get_input_directory,
        "output": folder_paths.get_output_directory,
        "temp": folder_paths.get_temp_directory,
    }
    if kind not in folders:
        raise ValueError(f"image type must be one of {sorted(folders)}, got {kind!r}")
    base = os.path.abspath(folders[kind]())
    path = os.path.abspath(os.path.join(base, subfolder or "", filename))
    if not filename or os.path.commonpath([path, base]) != base:
        raise ValueError(f"image {filename!r} (subfolder {subfolder!r}) is not inside ComfyUI's {kind} folder")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"image {os.path.join(subfolder or '', filename)!r} not found in the {kind} folder")
    return path


def _load_image(path: str, max_size: int) -> torch.Tensor:
    """[H, W, 3] float in [0, 1], longest side at most ``max_size``; the last few are cached (a drag reuses one)."""
    stat = os.stat(path)
    key = (path, stat.st_mtime_ns, stat.st_size, max_size)
    if key in _images:
        _images.move_to_end(key)
        return _images[key]
    with Image.open(path) as img:
        img = ImageOps.exif_transpose(img).convert("RGB")
        if max(img.size) > max_size:
            img.thumbnail((max_size, max_size), Image.BILINEAR)
        tensor = torch.from_numpy(np.asarray(img, dtype=np.float32) / 255.0)
    _images[key] = tensor
    while len(_images) > 4:
        _images.popitem(last=False)
    return tensor


def _jpeg_data_url(image: torch.Tensor) -> str:
    buf = io.BytesIO()
    Image.fromarray((image.numpy() * 255.0 + 0.5).astype(np.uint8)).save(buf, format="JPEG", quality=90)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def compute_preview(body: dict) -> dict:
    """The reply to one preview request (see the module docstring); ValueError / FileNotFoundError for bad input."""
    tracks = parse_tracks(body.get("tracks") or '{"version": 1, "tracks": []}')
    frames = max(int(body.get("frames", 16)), 1)
    frame = min(max(int(body.get("frame", 0)), 0), frames - 1)
    interpolation = str(body.get("interpolation") or "smooth")
    falloff = float(body.get("falloff") or 1.0)
    radius = float(body.get("radius") or 0.0) or None
    reply: dict = {"frame": frame, "interpolation": interpolation}
    source = body.get("image")
    image = None
    if source:
        max_size = min(max(int(body.get("max_size") or 1024), 16), MAX_SIZE)
        path = resolve_view_file(
            str(source.get("filename", "")), str(source.get("subfolder", "")), str(source.get("type", "input"))
        )
        image = _load_image(path, max_size)
        if tracks.width is None or tracks.height is None:
            # Unsized tracks are in the reference's pixels: its natural size, not the preview's.
            with Image.open(path) as img:
                tracks = tracks.with_size(*ImageOps.exif_transpose(img).size)
    reply["positions"] = np.round(track_positions(tracks, frames, interpolation), 2).tolist()
    reply["width"], reply["height"] = tracks.width, tracks.height
    if image is not None:
        with torch.inference_mode():
            frame_image = preview_frame(
                image, tracks, frame, frames, interpolation=interpolation, falloff=falloff, radius=radius
            )
        reply["image"] = _jpeg_data_url(frame_image)
    return reply


def register_preview_route() -> bool:
    """Add the route to ComfyUI's server once; False where there is no server (scripts, tests without one)."""
    global _registered
    if _registered:
        return True
    try:
        from server import PromptServer, web  # ComfyUI's aiohttp, as its own routes use it
    except ImportError:
        return False
    server = getattr(PromptServer, "instance", None)
    if server is None:
        return False

    @server.routes.post(ROUTE)
    async def preview(request):
        try:
            body = await request.json()
            if not isinstance(body, dict):
                raise ValueError("expected a JSON object")
            reply = await asyncio.get_running_loop().run_in_executor(None, compute_preview, body)
        except FileNotFoundError as e:
            return web.json_response({"error": str(e)}, status=404)
        except (ValueError, TypeError, KeyError) as e:
            return web.json_response({"error": str(e)}, status=400)
        return web.json_response(reply)

    _registered = True
    log.debug("InteractiveVideo: %s registered", ROUTE)
    return True
