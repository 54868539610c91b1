"""The trajectory editor widget on the real ComfyUI page: drawn with the mouse, stored in the prompt and workflow."""

import io
import json
from pathlib import Path

import numpy as np
from PIL import Image

W, H = 320, 224
DOCS_IMAGE = Path(__file__).resolve().parents[3] / "docs" / "images" / "trajectory-editor.png"


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
    editor.widgets.find(w => w.name === 'frame_count').value = 12;
    load.connect(0, editor, editor.inputs.findIndex(i => i.name === 'reference'));
    const flow = LiteGraph.createNode('IV_TrajectoryToFlow'); flow.pos = [980, 150]; app.graph.add(flow);
    editor.connect(0, flow, 0);
    app.canvas.ds.offset = [0, 0]; app.canvas.ds.scale = 1;
    app.graph.setDirtyCanvas(true, true);
    return editor.id;
}"""

# Screen position of a point given in reference-image pixels, through the editor's own fit.
TO_SCREEN = """([id, x, y]) => {
    const s = app.graph.getNodeById(id).trajectoryEditor.surface;
    const r = s.canvas.getBoundingClientRect(), f = s.fit();
    return [r.left + (f.ox + x * f.scale) * r.width / s.canvas.width,
            r.top + (f.oy + y * f.scale) * r.height / s.canvas.height];
}"""


def tracks_of(page, node_id):
    """The tracks text as the API prompt and the saved workflow carry it."""
    return page.eval(
        """async (id) => {
        const p = await app.graphToPrompt();
        const saved = app.graph.serialize().nodes.find(n => n.id === id);
        return [p.output[String(id)].inputs.tracks, saved.widgets_values[0], p.workflow.nodes.find(n => n.id === id).widgets_values[0]];
    }""",
        node_id,
    )


def test_draw_a_track_with_the_mouse(comfy_page, server, artifacts):
    uploaded = server.upload_image(reference_png(), "iv_editor_scene.png", overwrite=True)
    page = comfy_page.page
    node_id = comfy_page.eval(BUILD, uploaded["name"])
    page.wait_for_function(
        "(id) => { const e = app.graph.getNodeById(id).trajectoryEditor;"
        " return e && e.surface.image && e.surface.image.naturalWidth > 0 && e.surface.canvas.clientWidth > 100; }",
        arg=node_id,
        timeout=30_000,
    )

    def at(x, y):
        return comfy_page.eval(TO_SCREEN, [node_id, x, y])

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
    page.screenshot(path=str(DOCS_IMAGE), clip=clip)
    page.screenshot(path=str(artifacts / "trajectory-editor-page.png"))
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
