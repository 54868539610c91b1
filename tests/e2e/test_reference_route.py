"""The edit canvas's reference route on a real server: the picture LoadImage → resize nodes will give, before any
run, byte for byte what the run gives; and a public endpoint that answers every bad field with a 400 naming it.

The expectation is the run itself: the same LoadImage → Upscale Image graph queued on the server, its PreviewImage
read back. Control: the route's answer for another crop differs from the run's. The checks of the image reference
and of the body are the live preview's (nodes/comfy_internals/routes.py); its catalogue covers them in depth
(test_preview_route_limits.py). Runtime about 15 s.
"""

import io
import json
import time
import urllib.error
import urllib.request

import numpy as np
import pytest
from PIL import Image

ROUTE = "/interactivevideo/reference"
SOURCE = "iv_reference_route.png"


def portrait() -> bytes:
    """300 × 480, smooth with a sharp disk (lanczos rings show if the resize differs)."""
    ys, xs = np.mgrid[0:480, 0:300] + 0.5
    rgb = np.stack((xs / 300, ys / 480, np.full_like(xs, 0.3)), -1)
    rgb[(xs - 150) ** 2 + (ys - 240) ** 2 < 40**2] = (0.95, 0.9, 0.1)
    buf = io.BytesIO()
    Image.fromarray((rgb * 255).astype(np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def post(server, body, raw: bytes | None = None) -> tuple[int, dict]:
    data = raw if raw is not None else json.dumps(body).encode()
    req = urllib.request.Request(server.url + ROUTE, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def scale(width=512, height=512, crop="center", method="lanczos") -> dict:
    return {"node": "ImageScale", "inputs": {"upscale_method": method, "width": width, "height": height, "crop": crop}}


@pytest.fixture(scope="module")
def source(server) -> dict:
    name = server.upload_image(portrait(), SOURCE, overwrite=True)["name"]
    return {"filename": name, "subfolder": "", "type": "input"}


def pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def run_graph(server, name: str, steps: list[dict]) -> np.ndarray:
    """The picture the run gives for LoadImage → steps → PreviewImage."""
    prompt = {"load": {"class_type": "LoadImage", "inputs": {"image": name}}}
    last = "load"
    for k, step in enumerate(steps):
        prompt[f"s{k}"] = {"class_type": step["node"], "inputs": {**step["inputs"], "image": [last, 0]}}
        last = f"s{k}"
    prompt["show"] = {"class_type": "PreviewImage", "inputs": {"images": [last, 0]}}
    (picture,) = server.outputs(server.run(prompt), "show")
    return pixels(picture)


def test_the_reference_is_the_picture_the_run_gives(server, source):
    for steps in ([scale()], [{"node": "ImageScaleBy", "inputs": {"upscale_method": "bilinear", "scale_by": 0.5}},
                              scale(416, 0, "disabled")]):  # fmt: skip
        status, reply = post(server, {"image": source, "steps": steps})
        assert status == 200, reply
        got = pixels(server.view(reply["image"]))
        want = run_graph(server, source["filename"], steps)
        assert (reply["width"], reply["height"]) == (want.shape[1], want.shape[0])
        assert np.array_equal(got, want)
    # Control: another crop is another picture (the comparison can fail).
    status, reply = post(server, {"image": source, "steps": [scale(crop="disabled")]})
    assert status == 200 and not np.array_equal(pixels(server.view(reply["image"])), want)


def test_the_same_request_is_answered_from_the_file_written(server, source):
    first = post(server, {"image": source, "steps": [scale(320, 320)]})[1]
    started = time.monotonic()
    second = post(server, {"image": source, "steps": [scale(320, 320)]})[1]
    assert second == first and time.monotonic() - started < 5


BAD = [
    ("body", None, b"not json"),
    ("body", [1, 2], None),
    ("extra", {"image": {}, "steps": [], "extra": 1}, None),
    ("image", {"steps": [scale()]}, None),
    ("image.filename", {"image": {"filename": ""}, "steps": [scale()]}, None),
    ("image.filename", {"image": {"filename": 7}, "steps": [scale()]}, None),
    ("image", {"image": {"filename": "../../server.log"}, "steps": [scale()]}, None),
    ("image.type", {"image": {"filename": "x.png", "type": "models"}, "steps": [scale()]}, None),
    ("image", {"image": "SOURCE_NAME", "steps": [scale()]}, None),
    ("steps", {"image": "SOURCE", "steps": []}, None),
    ("steps", {"image": "SOURCE", "steps": [scale()] * 9}, None),
    ("steps[0].node", {"image": "SOURCE", "steps": [{"node": "LoadImage", "inputs": {}}]}, None),
    ("steps[0].node", {"image": "SOURCE", "steps": [{"node": ["ImageScale"], "inputs": {}}]}, None),  # main: 500
    ("steps[0].inputs.colour", {"image": "SOURCE", "steps": [{"node": "ImageScale", "inputs": {**scale()["inputs"], "colour": 1}}]}, None),
    ("steps[0].inputs.crop", {"image": "SOURCE", "steps": [{"node": "ImageScale", "inputs": {"upscale_method": "lanczos", "width": 8, "height": 8}}]}, None),
    ("steps[0].inputs.width", {"image": "SOURCE", "steps": [scale(width=-1)]}, None),
    ("steps[0].inputs.width", {"image": "SOURCE", "steps": [scale(width="512")]}, None),
    ("steps[0].inputs.width", {"image": "SOURCE", "steps": [scale(width=1.5)]}, None),
    ("steps[0].inputs.width", {"image": "SOURCE", "steps": [scale(width=True)]}, None),
    ("steps[0].inputs.upscale_method", {"image": "SOURCE", "steps": [scale(method="magic")]}, None),
    ("steps[0].inputs.scale_by", {"image": "SOURCE", "steps": [{"node": "ImageScaleBy", "inputs": {"upscale_method": "area", "scale_by": float("nan")}}]}, None),
    ("steps[0]", {"image": "SOURCE", "steps": [scale(16384, 16384)]}, None),
    ("body", None, b"[" * 30_000 + b"]" * 30_000),  # main: 500 (RecursionError)
]  # fmt: skip
MISSING = {"image": {"filename": "iv-no-such-picture.png"}, "steps": [scale()]}
OVER_THE_CAP = b"{" + b" " * 70_000 + b"}"


def with_source(body, source: dict):
    """``body`` with its placeholder image: "SOURCE" the uploaded file, "SOURCE_NAME" its name alone."""
    if isinstance(body, dict) and body.get("image") in ("SOURCE", "SOURCE_NAME"):
        return {**body, "image": source if body["image"] == "SOURCE" else source["filename"]}
    return body


@pytest.mark.parametrize("field,body,raw", BAD, ids=[f"{k}-{b[0]}" for k, b in enumerate(BAD)])
def test_a_bad_field_gets_400_naming_it_and_the_server_keeps_going(server, source, field, body, raw):
    started = time.monotonic()
    status, reply = post(server, with_source(body, source), raw)
    assert status == 400, reply
    assert reply["error"].startswith(f"{field}:"), reply["error"]
    assert time.monotonic() - started < 5  # refused before any work (the 16384² one included)
    assert post(server, {"image": source, "steps": [scale(64, 64)]})[0] == 200


def test_a_missing_file_gets_404(server):
    status, reply = post(server, MISSING)
    assert status == 404 and reply["error"].startswith("image:") and "not found" in reply["error"]


def test_a_body_over_the_cap_gets_413_before_it_is_read(server, source):
    started = time.monotonic()
    status, reply = post(server, None, OVER_THE_CAP)
    assert status == 413 and reply["error"].startswith("body:") and "65,536" in reply["error"], reply
    assert time.monotonic() - started < 5
    assert post(server, {"image": source, "steps": [scale(64, 64)]})[0] == 200


def test_the_documented_examples_are_the_routes_replies(server, source, documented):
    examples = documented(ROUTE)
    assert len(examples) >= 10  # the table was found and read
    sent = [(with_source(body, source), raw) for _, body, raw in BAD] + [(MISSING, None), (None, OVER_THE_CAP)]
    replies = {(status, reply["error"]) for status, reply in (post(server, body, raw) for body, raw in sent)}
    assert [example for example in examples if example not in replies] == []
