"""The edit canvas's reference picture before any run: ``POST /interactivevideo/reference`` on ComfyUI's server.

The canvas draws on the image its ``reference`` input will receive. When that input comes from a LoadImage through
resize nodes (LoadImage → Upscale Image → canvas, as in the shipped workflows), the canvas cannot show the file
as it is: its size and crop are the resize node's. It sends the source and the chain of resize nodes with their
widget values; this route runs those nodes' own code (ComfyUI's classes, so the pixels are the ones the run will
get) and answers with a file in ComfyUI's temp folder, which the canvas shows like a run's preview. Request::

    {"image": {"filename": "photo.png", "subfolder": "", "type": "input"},
     "steps": [{"node": "ImageScale",
                "inputs": {"upscale_method": "lanczos", "width": 512, "height": 512, "crop": "center"}}]}

Reply: ``{"image": {"filename": "reference-<key>.png", "subfolder": "interactivevideo", "type": "temp"},
"width": W, "height": H}``.

A public endpoint, so every field is checked before any work: the body (at most ``MAX_BODY_BYTES``), the image
reference (a file inside ComfyUI's input, output or temp folder, read through ``folder_paths``; the same check as
the live preview's, ``routes.view_reference``), the steps (at most ``MAX_STEPS``, each a node of ``TRANSFORMS``
with exactly the inputs that node declares in this ComfyUI, every value checked as the pack's nodes check theirs,
``routes.checked_value``). The source's size is read from its header before decoding and every step's output
size is worked out before it runs; both are bounded (``MAX_PIXELS``). A bad field gets 400 with
``{"error": "<field>: <what is wrong>; <what to send>"}``, a missing file 404, a body over the cap 413 (``routes``,
docs/http-api.md). One computation runs at a time; the same request again is answered from the file already
written; at most ``KEEP_FILES`` such files are kept.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import os

import numpy as np
import torch
from PIL import Image, ImageOps

from .routes import (
    RequestError,
    add_post_route,
    checked_value,
    json_object,
    read_body,
    refuse_unknown,
    resolve_view_file,
    short_repr,
    view_reference,
)

ROUTE = "/interactivevideo/reference"
SUBFOLDER = "interactivevideo"
MAX_BODY_BYTES = 64 * 1024
MAX_STEPS = 8
# A 36-megapixel photo (6000 × 6000 is 36 M) decodes to 432 MB of float RGB, what LoadImage itself allocates for it.
MAX_PIXELS = 36_000_000
KEEP_FILES = 32
# Widgets the frontend adds to nodes, not inputs of the node (a seed's control, LoadImage's upload button).
FRONTEND_WIDGETS = {"control_after_generate", "control_before_generate", "upload"}
FIELDS = ("image", "steps")
EXAMPLE = '{"image": {"filename": "photo.png"}, "steps": [{"node": "ImageScale", "inputs": {...}}]} (docs/http-api.md)'


def _scale_size(size, inputs) -> tuple[int, int]:
    w, h = size
    width, height = inputs["width"], inputs["height"]
    if width == 0 and height == 0:
        return w, h
    if width == 0:
        width = max(1, round(w * height / h))
    elif height == 0:
        height = max(1, round(h * width / w))
    return width, height


def _scale_by_size(size, inputs) -> tuple[int, int]:
    return round(size[0] * inputs["scale_by"]), round(size[1] * inputs["scale_by"])


def _total_pixels_size(size, inputs) -> tuple[int, int]:
    w, h = size
    scale = math.sqrt(inputs["megapixels"] * 1024 * 1024 / (w * h))
    steps = inputs.get("resolution_steps", 1)
    return round(w * scale / steps) * steps, round(h * scale / steps) * steps


# The resize nodes the canvas follows upstream (web/js/reference_image.js lists the same), with the size each one
# outputs for an input of (width, height): the bound is checked before the node runs.
TRANSFORMS = {
    "ImageScale": _scale_size,
    "ImageScaleBy": _scale_by_size,
    "ImageScaleToTotalPixels": _total_pixels_size,
}


def _declared_inputs(node_class) -> tuple[dict, set]:
    """(every input but the image: name -> V1 spec, the required names) as /object_info serves them."""
    info = node_class.GET_NODE_INFO_V1() if hasattr(node_class, "GET_NODE_INFO_V1") else None
    declared = info["input"] if info else node_class.INPUT_TYPES()
    required = {k: v for k, v in declared.get("required", {}).items() if k != "image"}
    optional = {k: v for k, v in declared.get("optional", {}).items() if k != "image"}
    return {**required, **optional}, set(required)


def _declaration(field: str, name: str, spec):
    """The V3 declaration of a V1 input ``spec`` (a combo, an INT or a FLOAT and its range), for ``checked_value``."""
    from comfy_api.latest import io as v3

    kind = spec[0]
    opts = spec[1] if len(spec) > 1 and isinstance(spec[1], dict) else {}
    if isinstance(kind, list) or kind == "COMBO":
        return v3.Combo.Input(name, options=list(kind if isinstance(kind, list) else opts.get("options", [])))
    if kind in ("INT", "FLOAT"):
        number = v3.Int.Input if kind == "INT" else v3.Float.Input
        return number(name, min=opts.get("min"), max=opts.get("max"))
    raise RequestError(field, f"inputs of type {kind} are not followed by the canvas")


def _check_step(index: int, step) -> tuple[str, dict]:
    import nodes

    where = f"steps[{index}]"
    if not isinstance(step, dict):
        raise RequestError(where, f'{short_repr(step)} is not an object; send {{"node": ..., "inputs": {{...}}}}')
    refuse_unknown(step, ("node", "inputs"), f"{where}.", where)
    name = step.get("node")
    if not isinstance(name, str) or name not in TRANSFORMS:
        raise RequestError(
            f"{where}.node",
            f"{short_repr(name)} is not a resize node the canvas follows; send one of {', '.join(TRANSFORMS)}",
        )
    node_class = nodes.NODE_CLASS_MAPPINGS.get(name)
    if node_class is None:
        raise RequestError(f"{where}.node", f"{name} is not available in this ComfyUI")
    given = step.get("inputs", {})
    if not isinstance(given, dict):
        raise RequestError(f"{where}.inputs", f"is {short_repr(given)}, not an object; send the node's widget values")
    declared, required = _declared_inputs(node_class)
    refuse_unknown(given, tuple(declared), f"{where}.inputs.", name)
    values = {}
    for key, spec in declared.items():
        field = f"{where}.inputs.{key}"
        if key in given:
            values[key] = checked_value(field, _declaration(field, key, spec), given[key])
        elif key in required:
            raise RequestError(field, "is missing; send the node's widget value for it")
    return name, values


def _check_size(field: str, size: tuple[int, int]) -> None:
    w, h = size
    if w < 1 or h < 1 or w * h > MAX_PIXELS:
        raise RequestError(
            field,
            f"makes a {w}×{h} image; the canvas previews 1 to {MAX_PIXELS:,} pixels (run the graph to see larger "
            "ones on the canvas)",
        )


def parse_request(raw: bytes) -> tuple[str, list[tuple[str, dict]]]:
    """(the source file's path, [(node, inputs), ...]) of a request body, everything checked; RequestError (naming
    the field; 404 for a missing file) otherwise."""
    body = json_object(raw, EXAMPLE)
    refuse_unknown(body, FIELDS)
    if body.get("image") is None:
        raise RequestError("image", "is missing; send the picture the Load Image node shows, as /view names it")
    filename, subfolder, kind = view_reference(body["image"])
    steps = body.get("steps")
    if not isinstance(steps, list) or not 1 <= len(steps) <= MAX_STEPS:
        what = f"holds {len(steps)} steps" if isinstance(steps, list) else f"is {short_repr(steps)}, not a list"
        raise RequestError(
            "steps",
            f"{what}; send the 1 to {MAX_STEPS} resize nodes between Load Image and the canvas, nearest to "
            "the image first",
        )
    chain = [_check_step(i, step) for i, step in enumerate(steps)]
    return resolve_view_file(filename, subfolder, kind), chain


def _planned_sizes(path: str, chain: list[tuple[str, dict]]) -> list[tuple[int, int]]:
    """The source's size (from its header, nothing decoded) and each step's output size; RequestError past the
    bound."""
    try:
        with Image.open(path) as img:
            # EXIF orientations 5 to 8 turn the picture a quarter: LoadImage shows it upright, width and height swapped.
            size = img.size[::-1] if img.getexif().get(0x0112, 1) in (5, 6, 7, 8) else img.size
    except (OSError, Image.DecompressionBombError) as e:
        raise RequestError("image", f"{os.path.basename(path)} is not an image PIL can read ({e})") from None
    _check_size("image", size)
    sizes = [size]
    for i, (name, inputs) in enumerate(chain):
        sizes.append(tuple(int(v) for v in TRANSFORMS[name](sizes[-1], inputs)))
        _check_size(f"steps[{i}]", sizes[-1])
    return sizes


def _run_node(name: str, image: torch.Tensor, inputs: dict) -> torch.Tensor:
    """One resize node's own code on ``image`` [1, H, W, 3], as the run executes it."""
    import nodes

    node_class = nodes.NODE_CLASS_MAPPINGS[name]
    if hasattr(node_class, "define_schema"):  # a V3 node
        out = node_class.execute(image=image, **inputs)
        return (out.result if hasattr(out, "result") else out)[0]
    return getattr(node_class(), node_class.FUNCTION)(image=image, **inputs)[0]


def _load_rgb(path: str) -> torch.Tensor:
    """[1, H, W, 3] in [0, 1], the first frame, upright: what LoadImage gives for it."""
    with Image.open(path) as img:
        rgb = ImageOps.exif_transpose(img).convert("RGB")
        return torch.from_numpy(np.asarray(rgb, dtype=np.float32) / 255.0)[None]


def _out_dir() -> str:
    import folder_paths

    return os.path.join(folder_paths.get_temp_directory(), SUBFOLDER)


def compute_reference(path: str, chain: list[tuple[str, dict]]) -> dict:
    """Run the chain on the source (once per distinct request) and reply with the written file."""
    try:
        stat = os.stat(path)
    except FileNotFoundError:  # removed since it was found
        raise RequestError("image", f"{os.path.basename(path)!r} is no longer in its folder", 404) from None
    key_text = json.dumps([os.path.realpath(path), stat.st_mtime_ns, stat.st_size, chain], sort_keys=True)
    filename = f"reference-{hashlib.sha256(key_text.encode()).hexdigest()[:20]}.png"
    folder = _out_dir()
    target = os.path.join(folder, filename)
    if not os.path.isfile(target):
        _planned_sizes(path, chain)
        with torch.inference_mode():
            try:
                image = _load_rgb(path)
            except OSError as e:
                raise RequestError("image", f"{os.path.basename(path)} cannot be decoded ({e})") from None
            for name, inputs in chain:
                image = _run_node(name, image, inputs)
            # As ComfyUI's SaveImage/PreviewImage write a run's picture (scaled, clipped, truncated): the same bytes.
            pixels = np.clip(255.0 * image[0].cpu().numpy(), 0, 255).astype(np.uint8)
        os.makedirs(folder, exist_ok=True)
        partial = target + ".part"
        Image.fromarray(pixels).save(partial, format="PNG", compress_level=1)
        os.replace(partial, target)
        _forget_old_files(folder)
    with Image.open(target) as written:
        width, height = written.size
    return {"image": {"filename": filename, "subfolder": SUBFOLDER, "type": "temp"}, "width": width, "height": height}


def _forget_old_files(folder: str) -> None:
    mine = [e for e in os.scandir(folder) if e.name.startswith("reference-") and e.name.endswith(".png")]
    mine.sort(key=lambda e: e.stat().st_mtime_ns)
    for entry in mine[:-KEEP_FILES]:
        try:
            os.remove(entry.path)
        except OSError:
            pass


_one_at_a_time: asyncio.Lock | None = None  # made on the server's event loop, at the first request


async def _handle(request) -> dict:
    global _one_at_a_time
    path, chain = parse_request(await read_body(request, MAX_BODY_BYTES))
    _one_at_a_time = _one_at_a_time or asyncio.Lock()
    async with _one_at_a_time:
        return await asyncio.get_running_loop().run_in_executor(None, compute_reference, path, chain)


def register_reference_route() -> bool:
    """Add the route to ComfyUI's server once; False where there is no server (scripts, tests without one)."""
    return add_post_route(ROUTE, _handle)
