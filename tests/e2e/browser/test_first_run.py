"""A user's first minutes with each shipped workflow, in the real page: open it, load a picture, and the edit canvas
shows that picture before anything runs (through the workflow's resize node, with its size and crop); the full
pipeline makes its intermediate image alone (the canvas run as the only selected output), renders no video, and
the canvas shows that image. A picture of a workflow from the docs, dropped on the page, opens the workflow.

The canvas is read pixel by pixel where the expected picture is flat, against the picture as ComfyUI's Upscale
Image makes it (computed here with PIL, apart from the code under test). Controls: the same check rejects the
picture stretched without the crop, and a canvas whose reference comes through a node it cannot follow.
Runtime on 2 CPU cores, ComfyUI 0.3.75 + frontend 1.32.9: about 1.5 minutes (most of it the full pipeline's
image, a full-size SD1.5 UNet at 64², 2 steps).
"""

import base64
import io
import json
import time

import numpy as np
import pytest
from PIL import Image

from comfyui_interactivevideo.devkit import sd15
from comfyui_interactivevideo.devkit.browser import wait_editor_ready
from comfyui_interactivevideo.devkit.paths import REPO
from comfyui_interactivevideo.devkit.workflow_pictures import picture_path
from comfyui_interactivevideo.devkit.workflow_specs import CHECKPOINT

# A portrait picture of horizontal bands (each 60 px, left half lighter than the right): a centre crop to a
# landscape or square video drops whole bands, so a canvas without the crop shows other colours at the probes.
PW, PH, BAND = 300, 480, 60
COLOURS = [(230, 40, 40), (240, 150, 20), (235, 225, 30), (40, 190, 60), (30, 200, 210), (40, 70, 220),
           (150, 50, 200), (120, 120, 120)]  # fmt: skip


def band_picture() -> np.ndarray:
    rgb = np.zeros((PH, PW, 3), np.uint8)
    for k, colour in enumerate(COLOURS):
        rgb[k * BAND : (k + 1) * BAND] = colour
    rgb[:, : PW // 2] = rgb[:, : PW // 2] // 2 + 120  # the left half lighter
    return rgb


def png(rgb: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="PNG")
    return buf.getvalue()


def upscale_image(rgb: np.ndarray, width: int, height: int, crop: bool) -> np.ndarray:
    """What ComfyUI's Upscale Image (lanczos) gives: the centre crop to the target's aspect, then the resize."""
    h, w = rgb.shape[:2]
    x = y = 0
    if crop and w / h > width / height:
        x = round((w - w * ((width / height) / (w / h))) / 2)
    elif crop and w / h < width / height:
        y = round((h - h * ((w / h) / (width / height))) / 2)
    cropped = Image.fromarray(rgb[y : h - y, x : w - x])
    return np.asarray(cropped.resize((width, height), Image.LANCZOS))


def probes(expected: np.ndarray, margin: int = 8) -> list[tuple[int, int, list[int]]]:
    """Points of the expected picture inside flat areas (no other colour within ``margin`` pixels), with their
    colour: at most 3 per row of bands, in both halves."""
    h, w = expected.shape[:2]
    found = []
    for y in range(margin, h - margin, 4):
        for x in (w // 4, 3 * w // 4):
            patch = expected[y - margin : y + margin + 1, x - margin : x + margin + 1].astype(int)
            if np.abs(patch - patch[margin, margin]).max() <= 6:
                found.append((x, y, expected[y, x].tolist()))
    return found[:: max(1, len(found) // 24)]


# The canvas's colours at points given in reference-image pixels (through the editor's own fit), and the size of
# the picture it shows.
CANVAS_AT = """([id, points]) => {
    const s = app.graph.getNodeById(id).trajectoryEditor.surface, f = s.fit(), ctx = s.canvas.getContext('2d');
    const at = points.map(([x, y]) => [Math.round(f.ox + (x + 0.5) * f.scale), Math.round(f.oy + (y + 0.5) * f.scale)]);
    const colours = at.map(([cx, cy]) => [...ctx.getImageData(cx, cy, 1, 1).data]);
    return {size: s.image ? [s.image.naturalWidth, s.image.naturalHeight] : null, colours, at, fit: f};
}"""


def smoothed(expected: np.ndarray, fit: dict, cx: int, cy: int) -> list[float]:
    """The colour a smoothed (bilinear) drawImage puts at canvas pixel (cx, cy): the canvas pixel's centre mapped
    back into the picture, between its four nearest pixel centres. A picture without flat areas (noise) needs this:
    the probe lands up to half a canvas pixel off an image pixel's centre, enough to blend in a neighbour."""
    h, w = expected.shape[:2]
    u = min(max((cx + 0.5 - fit["ox"]) / fit["scale"] - 0.5, 0.0), w - 1.0)
    v = min(max((cy + 0.5 - fit["oy"]) / fit["scale"] - 0.5, 0.0), h - 1.0)
    x0, y0 = min(int(u), w - 2), min(int(v), h - 2)
    a, b = u - x0, v - y0
    px = expected[y0 : y0 + 2, x0 : x0 + 2].astype(float)
    row = px[:, 0] * (1 - a) + px[:, 1] * a
    return (row[0] * (1 - b) + row[1] * b).tolist()


def canvas_mismatches(
    comfy_page, node_id, expected: np.ndarray, points=None, tolerance: int = 30, smooth: bool = False
) -> list:
    """The probes where the canvas does not show ``expected`` (a wrong size counts as one mismatch); ``points``
    (x, y, colour) default to ``probes(expected)``. With ``smooth`` the colour wanted at each probe is the one a
    bilinear draw of ``expected`` puts at the canvas pixel read (for pictures without flat areas)."""
    points = points or probes(expected)
    assert len(points) >= 8, "the expected picture has too few flat areas to probe"
    seen = comfy_page.eval(CANVAS_AT, [node_id, [[x, y] for x, y, _ in points]])
    if seen["size"] != [expected.shape[1], expected.shape[0]]:
        return [("size", seen["size"], [expected.shape[1], expected.shape[0]])]
    if smooth:
        points = [
            (x, y, smoothed(expected, seen["fit"], *at)) for (x, y, _), at in zip(points, seen["at"], strict=True)
        ]
    return [
        (x, y, got[:3], want)
        for (x, y, want), got in zip(points, seen["colours"], strict=True)
        if max(abs(a - b) for a, b in zip(got[:3], want, strict=True)) > tolerance
    ]


LOAD = """async (wf) => { app.graph.clear(); await app.loadGraphData(wf);
    app.canvas.ds.scale = 1; app.canvas.setDirty(true, true);
    const byTitle = (t) => app.graph.nodes.find((n) => n.title === t);
    const value = (t) => byTitle(t)?.widgets.find((w) => w.name === 'value').value;
    return {canvas: byTitle('Edit canvas').id, photo: byTitle('Your image')?.id ?? null,
            size: [value('Width'), value('Height')], tracks: byTitle('Edit canvas').widgets[0].value}; }"""

# Pick a file in a LoadImage as the user does after uploading it (the upload button lists the file, sets the value
# and calls the widget's callback), and bring the canvas into view.
PICK = """([photo, canvas, name]) => {
    const w = app.graph.getNodeById(photo).widgets.find((w) => w.name === 'image');
    if (Array.isArray(w.options?.values) && !w.options.values.includes(name)) w.options.values.push(name);
    w.value = name; w.callback?.(name);
    const n = app.graph.getNodeById(canvas);
    app.canvas.ds.offset = [-n.pos[0] + 60, -n.pos[1] + 80]; app.canvas.setDirty(true, true); }"""


def open_workflow(comfy_page, name: str) -> dict:
    return comfy_page.eval(LOAD, json.loads((REPO / "workflows" / f"{name}.json").read_text()))


def canvas_picture_arrives(
    comfy_page, node_id, expected: np.ndarray, points=None, tolerance: int = 30, smooth: bool = False
) -> list:
    """Wait until the canvas is ready, then allow it a few frames to show ``expected``; the mismatches left."""
    wait_editor_ready(comfy_page, node_id)
    for _ in range(10):
        left = canvas_mismatches(comfy_page, node_id, expected, points, tolerance, smooth)
        if not left:
            return []
        comfy_page.page.wait_for_timeout(200)
    return left


@pytest.mark.parametrize(
    "name",
    ["interactivevideo_animate_image", "interactivevideo_paint_edit_clip", "interactivevideo_wan_drag_and_paint"],
)
def test_the_canvas_shows_your_picture_before_any_run(comfy_page, server, name):
    runs_before = len(server.get_json("/history"))
    uploaded = server.upload_image(png(band_picture()), "iv_first_run_bands.png", overwrite=True)["name"]
    opened = open_workflow(comfy_page, name)
    assert json.loads(opened["tracks"])["tracks"] == []  # no drag from another picture
    comfy_page.eval(PICK, [opened["photo"], opened["canvas"], uploaded])
    width, height = opened["size"]
    expected = upscale_image(band_picture(), width, height, crop=True)
    assert canvas_picture_arrives(comfy_page, opened["canvas"], expected) == []
    # Control: the probes tell the crop apart; the picture stretched to the size without it does not match.
    assert len(canvas_mismatches(comfy_page, opened["canvas"], upscale_image(band_picture(), width, height, False))) > 2
    assert len(server.get_json("/history")) == runs_before  # nothing ran
    assert not comfy_page.pack_errors(), comfy_page.console_errors


# Put a node the canvas cannot see through (Invert Image) between the picture and the resize.
HIDE_THE_SOURCE = """([photo, canvas]) => {
    const load = app.graph.getNodeById(photo), resize = load.getOutputNodes(0)[0];
    const invert = LiteGraph.createNode('ImageInvert'); invert.pos = [load.pos[0], load.pos[1] + 500]; app.graph.add(invert);
    load.connect(0, invert, 0); invert.connect(0, resize, resize.findInputSlot('image'));
    app.graph.getNodeById(canvas).trajectoryEditor.refresh(); }"""


def test_control_a_reference_the_canvas_cannot_follow_shows_no_picture(comfy_page, server):
    uploaded = server.upload_image(png(band_picture()), "iv_first_run_bands.png", overwrite=True)["name"]
    opened = open_workflow(comfy_page, "interactivevideo_animate_image")
    comfy_page.eval(PICK, [opened["photo"], opened["canvas"], uploaded])
    expected = upscale_image(band_picture(), *opened["size"], crop=True)
    assert canvas_picture_arrives(comfy_page, opened["canvas"], expected) == []
    comfy_page.eval(HIDE_THE_SOURCE, [opened["photo"], opened["canvas"]])
    wait_editor_ready(comfy_page, opened["canvas"])
    assert canvas_mismatches(comfy_page, opened["canvas"], expected)[0][0] == "size"  # no picture at all
    assert not comfy_page.pack_errors(), comfy_page.console_errors


FIT = """([size, steps]) => {
    const byTitle = (t) => app.graph.nodes.find((n) => n.title === t);
    const set = (t, name, v) => { byTitle(t).widgets.find((w) => w.name === name).value = v; };
    set('Width', 'value', size); set('Height', 'value', size); set('Intermediate image sampler', 'steps', steps); }"""

# Select the canvas alone and press the selection toolbox's ▶ (the command it runs), then bring it into view.
RUN_SELECTED = """async (id) => { const n = app.graph.getNodeById(id);
    app.canvas.deselectAll?.(); app.canvas.select(n);
    await app.extensionManager.command.execute('Comfy.QueueSelectedOutputNodes');
    app.canvas.ds.offset = [-n.pos[0] + 60, -n.pos[1] + 80]; app.canvas.setDirty(true, true); }"""


def finished_run(server, before: set, timeout: float = 600) -> dict:
    """The history entry of the one prompt queued since ``before``, once it has finished."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        new = {k: v for k, v in server.get_json("/history").items() if k not in before}
        for entry in new.values():
            status = entry.get("status", {})
            assert status.get("status_str") != "error", json.dumps(status.get("messages"))[:2000]
            if status.get("completed"):
                return entry
        time.sleep(0.5)
    raise AssertionError(f"the selected output's run did not finish in {timeout}s:\n{server.log_tail()}")


def test_full_pipeline_makes_only_the_image_first_and_the_canvas_shows_it(comfy_page, server):
    link = server.base / "models" / "checkpoints" / CHECKPOINT
    if not link.exists():
        link.symlink_to(sd15.checkpoint_file())
    opened = open_workflow(comfy_page, "interactivevideo_full_pipeline")
    comfy_page.eval(FIT, [64, 2])
    before = set(server.get_json("/history"))
    comfy_page.eval(RUN_SELECTED, opened["canvas"])
    entry = finished_run(server, before)
    ran = {k for k, v in entry["outputs"].items() if v}
    assert ran == {str(opened["canvas"])}, f"outputs besides the canvas ran: {ran}"  # no video, no previews
    (shown,) = entry["outputs"][str(opened["canvas"])]["images"]
    made = np.asarray(Image.open(io.BytesIO(server.view(shown))).convert("RGB"))
    assert made.shape == (64, 64, 3)
    # Random weights make a noisy image (no flat areas): probe every 4th pixel, against the smoothed draw.
    ys, xs = np.mgrid[2:64:4, 2:64:4]
    points = [(int(x), int(y), None) for x, y in zip(xs.ravel(), ys.ravel(), strict=True)]
    assert canvas_picture_arrives(comfy_page, opened["canvas"], made, points, tolerance=24, smooth=True) == []
    # Control: the same check on the image turned half a turn (same colours, other places) fails.
    turned = np.ascontiguousarray(made[::-1, ::-1])
    assert len(canvas_mismatches(comfy_page, opened["canvas"], turned, points, 24, smooth=True)) > len(points) // 4
    assert not comfy_page.pack_errors(), comfy_page.console_errors


# Drop a file on the graph canvas as a user drags one from their file browser.
DROP = """async ([b64, name]) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const dt = new DataTransfer(); dt.items.add(new File([bytes], name, {type: 'image/png'}));
    const target = app.canvas.canvas;
    for (const type of ['dragenter', 'dragover', 'drop'])
        target.dispatchEvent(new DragEvent(type, {dataTransfer: dt, bubbles: true, cancelable: true}));
}"""

GRAPH = "() => app.graph.nodes.map((n) => [n.type, n.title]).sort()"


def test_a_workflow_picture_dropped_on_the_page_opens_the_workflow(comfy_page):
    name = "interactivevideo_wan_drag_and_paint"
    workflow = json.loads((REPO / "workflows" / f"{name}.json").read_text())
    want = sorted([n["type"], n.get("title", n["type"])] for n in workflow["nodes"])
    comfy_page.eval("() => app.graph.clear()")
    assert comfy_page.eval(GRAPH) != want  # control: the check fails on the page before the drop
    picture = (REPO / picture_path(name, 3)).read_bytes()
    comfy_page.eval(DROP, [base64.b64encode(picture).decode(), picture_path(name, 3).name])
    comfy_page.page.wait_for_function(f"() => app.graph.nodes.length === {len(want)}", timeout=15_000)
    assert comfy_page.eval(GRAPH) == want
    assert not comfy_page.pack_errors(), comfy_page.console_errors
