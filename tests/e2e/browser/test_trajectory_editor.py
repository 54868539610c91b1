"""The trajectory editor widget on the real ComfyUI page: drawn with the mouse, stored in the prompt and workflow.

Every test runs twice: classic LiteGraph rendering and Nodes 2.0 (Vue nodes), where LiteGraph never draws the node's
foreground: the editor must learn about its image, widgets and runs from the frontend's events alone.
"""

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from comfyui_interactivevideo.devkit.browser import TO_SCREEN, drag_on_canvas, wait_editor_ready

W, H = 320, 224
DOCS_IMAGE = Path(__file__).resolve().parents[3] / "docs" / "images" / "trajectory-editor.png"


@pytest.fixture(params=[False, True], ids=["classic", "nodes2"])
def vue_nodes(request) -> bool:
    return request.param


def picture_path(vue_nodes: bool, docs: Path, artifacts: Path) -> Path:
    """The README's pictures come from classic rendering; the Nodes 2.0 run keeps its own among the artifacts."""
    return artifacts / f"nodes2-{docs.name}" if vue_nodes else docs


# Colour of the edit canvas at a point in reference-image pixels (what the user sees there).
CANVAS_PIXEL = """([id, x, y]) => {
    const s = app.graph.getNodeById(id).trajectoryEditor.surface, f = s.fit();
    return [...s.canvas.getContext('2d').getImageData(Math.round(f.ox + x * f.scale), Math.round(f.oy + y * f.scale), 1, 1).data];
}"""


# The three probes (red ball, blue box, sky) once they show the picture, else false.
IMAGE_SHOWN = """(id) => {
    const s = app.graph.getNodeById(id).trajectoryEditor.surface, f = s.fit(), ctx = s.canvas.getContext('2d');
    const at = ([x, y]) => [...ctx.getImageData(Math.round(f.ox + x * f.scale), Math.round(f.oy + y * f.scale), 1, 1).data];
    const [red, blue, sky] = [[70, 130], [240, 128], [160, 30]].map(at);
    return red[0] > 180 && blue[2] > 160 && sky[2] > 200 ? [red, blue, sky] : false;
}"""


def reference_png() -> bytes:
    """A small scene: sky, ground, a red ball and a blue box."""
    ys, xs = np.mgrid[0:H, 0:W] + 0.5
    rgb = np.zeros((H, W, 3), np.uint8)
    rgb[:] = (135, 190, 235)
    rgb[ys > 150] = (96, 150, 80)
    rgb[((xs - 70) ** 2 + (ys - 130) ** 2) < 22**2] = (220, 50, 40)
    rgb[(abs(xs - 240) < 20) & (abs(ys - 128) < 26)] = (40, 70, 200)
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="PNG")
    return buf.getvalue()


BUILD = """async (name) => {
    app.graph.clear();
    const load = LiteGraph.createNode('LoadImage'); load.pos = [40, 150]; app.graph.add(load);
    const image = load.widgets.find(w => w.name === 'image');
    image.value = name; image.callback?.(name);
    const editor = LiteGraph.createNode('IV_TrajectoryEditor'); editor.pos = [420, 130]; app.graph.add(editor);
    editor.setSize([520, 660]);
    editor.widgets.find(w => w.name === 'frames').value = 12;
    load.connect(0, editor, editor.inputs.findIndex(i => i.name === 'reference'));
    const flow = LiteGraph.createNode('IV_TrajectoryToFlow'); flow.pos = [980, 150]; app.graph.add(flow);
    editor.connect(0, flow, 0);
    app.canvas.ds.offset = [0, 0]; app.canvas.ds.scale = 1;
    app.graph.setDirtyCanvas(true, true);
    return editor.id;
}"""


def open_editor(comfy_page, server) -> int:
    """LoadImage → editor → Trajectory to Flow on a fresh graph; returns the editor's id once it shows the image."""
    uploaded = server.upload_image(reference_png(), "iv_editor_scene.png", overwrite=True)
    node_id = comfy_page.eval(BUILD, uploaded["name"])
    wait_editor_ready(comfy_page, node_id)
    assert comfy_page.eval(
        "(id) => { const i = app.graph.getNodeById(id).trajectoryEditor.surface.image; return [i.naturalWidth, i.naturalHeight]; }",
        node_id,
    ) == [W, H]
    return node_id


def tracks_of(page, node_id):
    """The tracks text as the API prompt and the saved workflow carry it."""
    return page.eval(
        """async (id) => {
        const p = await app.graphToPrompt();
        const saved = app.graph.serialize().nodes.find(n => String(n.id) === String(id));
        return [p.output[String(id)].inputs.tracks, saved.widgets_values[0],
                p.workflow.nodes.find(n => String(n.id) === String(id)).widgets_values[0]];
    }""",
        node_id,
    )


def test_draw_a_track_with_the_mouse(comfy_page, server, artifacts, vue_nodes):
    page = comfy_page.page
    node_id = open_editor(comfy_page, server)

    def at(x, y):
        return comfy_page.eval(TO_SCREEN, [node_id, x, y])

    # The connected image is on the canvas (Nodes 2.0 included): the red ball, the blue box, the sky. Read in one
    # frame; on ComfyUI 0.33.0 + frontend 1.49.6 a frame drawn without the image can still follow 'ready' (seen
    # about 1 run in 4, cause not found), so the check waits for the frame that shows it. The 30 s bound is for a
    # loaded 2-core machine, where frames can be seconds apart; a canvas that never draws the image still fails.
    seen = comfy_page.page.wait_for_function(IMAGE_SHOWN, arg=node_id, timeout=30_000, polling="raf").json_value()
    red, blue, sky = seen
    assert red[0] > 180 and red[1] < 90 and blue[2] > 160 and blue[0] < 90 and sky[2] > 200, (red, blue, sky)

    # Drag the ball to the right and up: a track from (70, 130) to (200, 70).
    page.mouse.move(*at(70, 130))
    page.mouse.down()
    for k in range(1, 11):
        page.mouse.move(*at(70 + 13 * k, 130 - 6 * k))
    page.mouse.up()
    # Shift-click adds a point to that track; a plain click pins an anchor on the box.
    page.keyboard.down("Shift")
    page.mouse.click(*at(250, 40))
    page.keyboard.up("Shift")
    page.mouse.click(*at(240, 128))

    prompt_text, workflow_text, prompt_workflow_text = tracks_of(comfy_page, node_id)
    assert prompt_text == workflow_text == prompt_workflow_text
    tracks = json.loads(prompt_text)
    assert (tracks["version"], tracks["width"], tracks["height"]) == (1, W, H)
    moving, anchor = tracks["tracks"]
    np.testing.assert_allclose(moving["points"], [[70, 130], [200, 70], [250, 40]], atol=2.0)
    assert moving["anchor"] is False and moving["radius"] > 0
    assert anchor["anchor"] is True and len(anchor["points"]) == 1
    np.testing.assert_allclose(anchor["points"][0], [240, 128], atol=2.0)

    # Scrub to the middle frame for the picture: regions drawn where they will be.
    comfy_page.eval(
        """(id) => { const e = app.graph.getNodeById(id).trajectoryEditor; e.surface.select(0, 1);
        e.showSelection(); e.setFrame(6); app.graph.setDirtyCanvas(true, true); }""",
        node_id,
    )
    page.wait_for_timeout(300)
    box = comfy_page.eval(
        "(id) => { const n = app.graph.getNodeById(id); const r = n.trajectoryEditor.root.getBoundingClientRect();"
        " return [r.left, r.top, r.width, r.height]; }",
        node_id,
    )
    DOCS_IMAGE.parent.mkdir(parents=True, exist_ok=True)
    # The three nodes and the editor, below the page's own banners.
    clip = {"x": 60, "y": max(box[1] - 250, 80), "width": min(box[0] + box[2] + 340, 1400) - 60, "height": box[3] + 262}
    page.screenshot(path=str(picture_path(vue_nodes, DOCS_IMAGE, artifacts)), clip=clip)
    page.screenshot(path=str(artifacts / f"trajectory-editor-page{'-nodes2' if vue_nodes else ''}.png"))
    assert not comfy_page.pack_errors(), comfy_page.console_errors


def test_typed_json_still_drives_the_editor(comfy_page, server):
    uploaded = server.upload_image(reference_png(), "iv_editor_scene.png", overwrite=True)
    node_id = comfy_page.eval(BUILD, uploaded["name"])
    typed = '[[{"x": 10, "y": 20}, {"x": 60, "y": 20}], [{"x": 5, "y": 5}]]'  # WanTrackToVideo style
    shown = comfy_page.eval(
        """async ([id, text]) => {
        const node = app.graph.getNodeById(id);
        node.widgets.find(w => w.name === 'tracks').value = text;
        node.trajectoryEditor.tick();
        return node.trajectoryEditor.surface.model.tracks.map(t => t.points);
    }""",
        [node_id, typed],
    )
    assert shown == [[[10, 20], [60, 20]], [[5, 5]]]
    prompt_text, _, _ = tracks_of(comfy_page, node_id)
    assert prompt_text == typed  # not rewritten until the user edits with the mouse
    assert not comfy_page.pack_errors(), comfy_page.console_errors


CANVAS_IMAGE = DOCS_IMAGE.parent / "edit-canvas.png"

PAINT_STATE = """async (id) => {
    const p = await app.graphToPrompt();
    const node = app.graph.getNodeById(id);
    const saved = app.graph.serialize().nodes.find(n => String(n.id) === String(id));
    const slot = node.widgets.findIndex(w => w.name === 'paint');
    return {prompt: p.output[String(id)].inputs.paint, saved: saved.widgets_values[slot],
            tracks: JSON.parse(p.output[String(id)].inputs.tracks).tracks.length};
}"""

# Alpha and colour of the editor's paint layer at image pixel (x, y).
LAYER_PIXEL = """([id, x, y]) => {
    const layer = app.graph.getNodeById(id).trajectoryEditor.paint.layer;
    return [layer.width, layer.height, ...layer.canvas.getContext('2d').getImageData(x, y, 1, 1).data];
}"""


def layer_file(server, value: str) -> np.ndarray:
    subfolder, name = value.split("/")
    assert subfolder == "interactivevideo" and name.startswith("iv-paint-") and name.endswith(".png")
    path = server.base / "input" / "interactivevideo" / name
    assert path.is_file()
    with Image.open(path) as img:
        return np.asarray(img.convert("RGBA"))


def test_paint_strokes_with_the_mouse_upload_undo_and_reload(comfy_page, server, artifacts, vue_nodes):
    page = comfy_page.page
    node_id = open_editor(comfy_page, server)
    root = page.locator(".iv-trajectory-editor")
    assert root.count() == 1

    def at(x, y):
        return comfy_page.eval(TO_SCREEN, [node_id, x, y])

    def drag(points):
        drag_on_canvas(comfy_page, node_id, points)

    def paint_value_becomes(expected_nonempty: bool):
        page.wait_for_function(
            "([id, want]) => { const v = app.graph.getNodeById(id).widgets.find(w => w.name === 'paint').value;"
            " return want ? v.startsWith('interactivevideo/iv-paint-') : v === ''; }",
            arg=[node_id, expected_nonempty],
            timeout=15_000,
        )

    drag([(70 + 13 * k, 130 - 6 * k) for k in range(11)])  # a track: the ball up and to the right
    root.locator(".iv-mode-paint").click()
    root.locator(".iv-paint-color").fill("#00e040")
    comfy_page.eval("(id) => app.graph.getNodeById(id).trajectoryEditor.setBrush({size: 18})", node_id)
    drag([(30 + 10 * k, 190) for k in range(15)])  # a green stroke along the grass, (30..170, 190)
    # Queued at once, before the debounced upload: the prompt waits for the stroke's file.
    state = comfy_page.eval(PAINT_STATE, node_id)
    assert state["prompt"] == state["saved"] and state["tracks"] == 1
    value = state["prompt"]
    layer = layer_file(server, value)
    assert layer.shape == (H, W, 4)  # the reference image's size
    assert (layer[190, 40:160, 3] == 255).all() and (layer[190, 40:160, :3] == (0, 224, 64)).all()
    assert (layer[:170, :, 3] == 0).all() and (layer[:, 190:, 3] == 0).all()  # nothing outside the stroke
    workflow = comfy_page.eval("() => app.graph.serialize()")
    assert "iVBOR" not in json.dumps(workflow)  # a file name, not inlined pixels

    # The picture for the README: a track and a stroke on one canvas.
    comfy_page.eval("(id) => { app.graph.getNodeById(id).trajectoryEditor.setFrame(6); }", node_id)
    page.mouse.move(*at(250, 60))  # the brush cursor, away from the stroke
    page.wait_for_timeout(300)
    # The whole node: title, its widgets (the `paint` path among them) and the canvas.
    x, y, w, h = comfy_page.eval(
        """(id) => { const n = app.graph.getNodeById(id), r = app.canvas.canvas.getBoundingClientRect();
        const t = LiteGraph.NODE_TITLE_HEIGHT, s = app.canvas.ds.scale, o = app.canvas.ds.offset;
        return [r.left + (n.pos[0] + o[0]) * s, r.top + (n.pos[1] - t + o[1]) * s, n.size[0] * s, (n.size[1] + t) * s]; }""",
        node_id,
    )
    CANVAS_IMAGE.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(
        path=str(picture_path(vue_nodes, CANVAS_IMAGE, artifacts)),
        clip={"x": x - 10, "y": y - 10, "width": w + 20, "height": h + 20},
    )

    # Ctrl+Z over the canvas undoes the stroke, then the track: one history, and not ComfyUI's graph undo.
    nodes_before = comfy_page.eval("() => app.graph.nodes.length")
    page.keyboard.press("Control+z")
    assert comfy_page.eval(LAYER_PIXEL, [node_id, 100, 190])[5] == 0
    paint_value_becomes(False)
    page.keyboard.press("Control+z")
    assert comfy_page.eval(PAINT_STATE, node_id) == {"prompt": "", "saved": "", "tracks": 0}
    page.keyboard.press("Control+Shift+z")
    page.keyboard.press("Control+y")
    paint_value_becomes(True)
    state = comfy_page.eval(PAINT_STATE, node_id)
    assert state == {"prompt": value, "saved": value, "tracks": 1}  # the same file name: no stray copies
    assert comfy_page.eval("() => app.graph.nodes.length") == nodes_before
    assert (layer_file(server, value)[190, 40:160, 3] == 255).all()

    # Reloading the saved workflow brings the strokes back from the input folder.
    workflow = comfy_page.eval("() => app.graph.serialize()")
    comfy_page.eval("async (wf) => { app.graph.clear(); await app.loadGraphData(wf); }", workflow)
    reloaded = comfy_page.eval("() => app.graph.nodes.find(n => n.type === 'IV_TrajectoryEditor').id")
    page.wait_for_function(
        "(id) => { const e = app.graph.getNodeById(id).trajectoryEditor; e.tick();"
        " return e.paint.layer.canvas.getContext('2d').getImageData(100, 190, 1, 1).data[3] === 255; }",
        arg=reloaded,
        timeout=15_000,
    )
    assert comfy_page.eval(LAYER_PIXEL, [reloaded, 100, 190]) == [W, H, 0, 224, 64, 255]
    assert comfy_page.eval(LAYER_PIXEL, [reloaded, 100, 60])[5] == 0
    assert comfy_page.eval(PAINT_STATE, reloaded) == {"prompt": value, "saved": value, "tracks": 1}

    # A copy of the node shows the same strokes but paints into a file of its own.
    copy_id = comfy_page.eval(
        """async (id) => { const copy = app.graph.getNodeById(id).clone(); copy.pos = [420, 820];
        app.graph.add(copy); return copy.id; }""",
        reloaded,
    )
    page.wait_for_function(
        "(id) => { const e = app.graph.getNodeById(id).trajectoryEditor; e.tick(); return e.sync.shown !== null; }",
        arg=copy_id,
        timeout=15_000,
    )
    copy_state = comfy_page.eval(
        """async (id) => { const e = app.graph.getNodeById(id).trajectoryEditor;
        e.paint.pointerDown([10, 10], [320, 224]); e.paint.pointerUp(); return (await app.graphToPrompt()).output[String(id)].inputs.paint; }""",
        copy_id,
    )
    assert copy_state.startswith("interactivevideo/iv-paint-") and copy_state != value
    copied = layer_file(server, copy_state)
    assert copied[10, 10, 3] == 255 and (copied[190, 40:160, 3] == 255).all()
    assert layer_file(server, value)[10, 10, 3] == 0  # the original's file is untouched
    assert not comfy_page.pack_errors(), comfy_page.console_errors


PREVIEW_IMAGE = DOCS_IMAGE.parent / "live-preview.png"

# The last warped frame drawn, and what the editor would ask for now.
PREVIEW_STATE = """(id) => { const e = app.graph.getNodeById(id).trajectoryEditor;
    return {shown: e.shownPreview, tracks: JSON.stringify(e.surface.model) && e.previewParams().tracks,
            frame: e.surface.frame, interpolation: e.positions?.interpolation ?? null,
            positions: e.positions?.positions ?? null}; }"""

PREVIEW_CURRENT = """([id, frame]) => { const e = app.graph.getNodeById(id).trajectoryEditor, s = e.shownPreview;
    return !!s && s.frame === frame && s.key === e.previewParams().tracks && e.surface.preview !== null; }"""


def test_live_preview_warps_the_frame_under_the_slider_while_dragging(comfy_page, server, artifacts, vue_nodes):
    page = comfy_page.page
    node_id = open_editor(comfy_page, server)
    root = page.locator(".iv-trajectory-editor")
    last = 11  # BUILD sets 12 frames

    def at(x, y):
        return comfy_page.eval(TO_SCREEN, [node_id, x, y])

    def pixel(x, y):
        return comfy_page.eval(CANVAS_PIXEL, [node_id, x, y])[:3]

    # A bent track: the ball right, then down-right; the slider at the last frame.
    drag_on_canvas(comfy_page, node_id, [(70 + 10 * k, 130 - 6 * k) for k in range(9)])  # to (150, 82)
    page.keyboard.down("Shift")
    page.mouse.click(*at(200, 120))
    page.keyboard.up("Shift")
    root.locator(".iv-track-frame").fill(str(last))
    page.wait_for_function(PREVIEW_CURRENT, arg=[node_id, last], timeout=15_000)
    # The ball is where the track ends, and gone from where it started (the background stretched behind it).
    moved, left = pixel(200, 120), pixel(70, 130)
    assert moved[0] > 170 and moved[1] < 110, moved
    assert not (left[0] > 170 and left[1] < 110), left

    # The slider follows the flow's `smooth` path (core.trajectory), not straight segments.
    state = comfy_page.eval(PREVIEW_STATE, node_id)
    assert state["interpolation"] == "smooth"
    tracks = json.loads(state["tracks"])
    assert (tracks["width"], tracks["height"]) == (W, H)
    smooth = np.asarray(state["positions"][0])
    assert smooth.shape == (12, 2)
    np.testing.assert_allclose(smooth[[0, -1]], [[70, 130], [200, 120]], atol=2.0)
    comfy_page.eval(
        """(id) => { const e = app.graph.getNodeById(id).trajectoryEditor;
        const flow = app.graph.getNodeById(id).getOutputNodes(0)[0];
        const w = flow.widgets.find(w => w.name === 'interpolation'); w.value = 'linear'; w.callback?.('linear'); e.refresh(); }""",
        node_id,
    )
    page.wait_for_function(
        "(id) => app.graph.getNodeById(id).trajectoryEditor.positions?.interpolation === 'linear'", arg=node_id
    )
    linear = np.asarray(comfy_page.eval(PREVIEW_STATE, node_id)["positions"][0])
    assert np.abs(linear - smooth).max() > 1.0  # the two paths differ between the points

    # While the mouse is still down, moving the end point re-warps the frame (the picture for the README).
    end = at(200, 120)
    page.mouse.move(*end)
    page.mouse.down()
    for k in range(1, 6):
        page.mouse.move(*at(200 + 10 * k, 120 + 8 * k))
    page.wait_for_function(PREVIEW_CURRENT, arg=[node_id, last], timeout=15_000)
    assert pixel(250, 160)[0] > 170  # the ball follows the point being dragged
    box = comfy_page.eval(
        "(id) => { const r = app.graph.getNodeById(id).trajectoryEditor.root.getBoundingClientRect();"
        " return [r.left, r.top, r.width, r.height]; }",
        node_id,
    )
    PREVIEW_IMAGE.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(
        path=str(picture_path(vue_nodes, PREVIEW_IMAGE, artifacts)),
        clip={"x": box[0] - 6, "y": box[1] - 6, "width": box[2] + 12, "height": box[3] + 12},
    )
    page.mouse.up()
    page.wait_for_function(PREVIEW_CURRENT, arg=[node_id, last], timeout=15_000)
    points = json.loads(tracks_of(comfy_page, node_id)[0])["tracks"][0]["points"]
    np.testing.assert_allclose(points[-1], [250, 160], atol=2.0)
    assert not comfy_page.pack_errors(), comfy_page.console_errors
