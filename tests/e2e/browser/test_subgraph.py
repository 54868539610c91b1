"""The edit canvas inside a subgraph, in classic and Nodes 2.0 rendering.

A LoadImage → IV_TrajectoryEditor pair is converted into a subgraph with the frontend's own command (as the
selection toolbox's "Convert Selection to Subgraph" button does), the subgraph is opened as the user opens it, and
the editor inside must show the connected image, draw a track with the mouse in the image's pixels, and write it
to its `tracks` widget and the API prompt (under the inner node's execution id). Skipped on frontends without
subgraphs (before 1.20).
"""

import io
import json

import numpy as np
import pytest
from PIL import Image

from comfyui_interactivevideo.devkit.browser import NODE_BY_ID, drag_on_canvas, wait_editor_ready

W, H = 320, 224


def reference_png() -> bytes:
    """The editor test's scene: sky, ground, a red ball and a blue box."""
    ys, xs = np.mgrid[0:H, 0:W] + 0.5
    rgb = np.zeros((H, W, 3), np.uint8)
    rgb[:] = (135, 190, 235)
    rgb[ys > 150] = (96, 150, 80)
    rgb[((xs - 70) ** 2 + (ys - 130) ** 2) < 22**2] = (220, 50, 40)
    rgb[(abs(xs - 240) < 20) & (abs(ys - 128) < 26)] = (40, 70, 200)
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture(params=[False, True], ids=["classic", "nodes2"])
def vue_nodes(request) -> bool:
    return request.param


# Does this frontend have subgraphs (LGraph.convertToSubgraph, the canvas's openSubgraph, the command)?
HAS_SUBGRAPHS = """() => typeof app.graph.convertToSubgraph === 'function'
    && typeof app.canvas.openSubgraph === 'function'
    && !!app.extensionManager?.command?.commands?.some?.(c => c.id === 'Comfy.Graph.ConvertToSubgraph')"""

# LoadImage → editor on a fresh root graph, both selected and converted into a subgraph by the frontend's command,
# then opened (what double-clicking the subgraph node's enter button does). Returns the inner editor's id.
BUILD_AND_ENTER = """async (name) => {
    app.graph.clear();
    const load = LiteGraph.createNode('LoadImage'); load.pos = [40, 150]; app.graph.add(load);
    const image = load.widgets.find(w => w.name === 'image');
    image.value = name; image.callback?.(name);
    const editor = LiteGraph.createNode('IV_TrajectoryEditor'); editor.pos = [420, 130]; app.graph.add(editor);
    editor.setSize([520, 660]);
    editor.widgets.find(w => w.name === 'frames').value = 12;
    load.connect(0, editor, editor.inputs.findIndex(i => i.name === 'reference'));
    const editorId = editor.id;
    app.canvas.deselectAll?.();
    app.canvas.select(load); app.canvas.select(editor);
    await app.extensionManager.command.execute('Comfy.Graph.ConvertToSubgraph');
    const outer = app.graph.nodes.find(n => n.isSubgraphNode?.());
    if (!outer) throw new Error('no subgraph node after Comfy.Graph.ConvertToSubgraph');
    app.canvas.openSubgraph(outer.subgraph, outer);
    app.canvas.ds.offset = [0, 0]; app.canvas.ds.scale = 1;
    app.canvas.setDirty(true, true);
    const inner = app.canvas.graph.nodes.find(n => n.type === 'IV_TrajectoryEditor');
    return {outer: outer.id, inner: inner.id, kept: String(inner.id) === String(editorId),
            root: app.graph.nodes.map(n => n.type), shown: app.canvas.graph === outer.subgraph,
            innerTypes: app.canvas.graph.nodes.map(n => n.type)};
}"""

# Colour of the edit canvas at a point in reference-image pixels.
CANVAS_PIXEL = (
    """([id, x, y]) => {
    const s = ("""
    + NODE_BY_ID
    + """)(id).trajectoryEditor.surface, f = s.fit();
    return [...s.canvas.getContext('2d').getImageData(Math.round(f.ox + x * f.scale), Math.round(f.oy + y * f.scale), 1, 1).data];
}"""
)

# The inner node's tracks widget, its serialized value in the subgraph's definition, and the API prompt's entry.
TRACKS = (
    """async (id) => {
    const node = ("""
    + NODE_BY_ID
    + """)(id);
    const p = await app.graphToPrompt();
    const entries = Object.entries(p.output).filter(([k, v]) => v.class_type === 'IV_TrajectoryEditor');
    const defs = p.workflow.definitions?.subgraphs ?? [];
    const saved = defs.flatMap(d => d.nodes ?? []).find(n => n.type === 'IV_TrajectoryEditor');
    return {widget: node.widgets.find(w => w.name === 'tracks').value,
            prompt: entries.map(([k, v]) => [k, v.inputs.tracks]),
            saved: saved ? saved.widgets_values[0] : null};
}"""
)


def test_edit_canvas_inside_a_subgraph(comfy_page, server, artifacts, vue_nodes):
    page = comfy_page.page
    if not comfy_page.eval(HAS_SUBGRAPHS):
        pytest.skip("this frontend has no subgraphs (Comfy.Graph.ConvertToSubgraph, LGraph.convertToSubgraph)")
    uploaded = server.upload_image(reference_png(), "iv_subgraph_scene.png", overwrite=True)
    built = comfy_page.eval(BUILD_AND_ENTER, uploaded["name"])
    assert len(built["root"]) == 1 and built["shown"], built  # only the subgraph node is left outside, and open
    assert sorted(built["innerTypes"]) == ["IV_TrajectoryEditor", "LoadImage"], built
    node_id = built["inner"]

    # The editor inside shows the connected image (Nodes 2.0 included): the red ball, the blue box, the sky.
    page.wait_for_function(
        "([id, w, h]) => { const i = (" + NODE_BY_ID + ")(id)?.trajectoryEditor?.surface.image;"
        " return !!i && i.naturalWidth === w && i.naturalHeight === h; }",
        arg=[node_id, W, H],
        timeout=30_000,
    )
    wait_editor_ready(comfy_page, node_id)
    red, blue, sky = (comfy_page.eval(CANVAS_PIXEL, [node_id, x, y])[:3] for x, y in [(70, 130), (240, 128), (160, 30)])
    assert red[0] > 180 and red[1] < 90 and blue[2] > 160 and blue[0] < 90 and sky[2] > 200, (red, blue, sky)

    # A mouse drag draws a track in the image's pixels: the ball from (70, 130) to (200, 70).
    drag_on_canvas(comfy_page, node_id, [(70 + 13 * k, 130 - 6 * k) for k in range(11)])
    state = comfy_page.eval(TRACKS, node_id)
    tracks = json.loads(state["widget"])
    assert (tracks["version"], tracks["width"], tracks["height"]) == (1, W, H)
    assert len(tracks["tracks"]) == 1
    np.testing.assert_allclose(tracks["tracks"][0]["points"], [[70, 130], [200, 70]], atol=2.0)

    # The API prompt carries it for the inner node, under its execution id (subgraph node id : inner id).
    assert len(state["prompt"]) == 1, state
    key, prompt_text = state["prompt"][0]
    assert key == f"{built['outer']}:{node_id}", state
    assert prompt_text == state["widget"]
    assert state["saved"] == state["widget"]  # and the subgraph's definition in the saved workflow

    page.screenshot(path=str(artifacts / f"subgraph-editor{'-nodes2' if vue_nodes else ''}.png"))

    # Out to the root graph (the breadcrumb's command) and back in: the same editor, still drawing.
    comfy_page.eval(
        """async () => { await app.extensionManager.command.execute('Comfy.Graph.ExitSubgraph');
        if (app.canvas.graph !== app.graph) throw new Error('still inside the subgraph'); }"""
    )
    comfy_page.eval(
        """(outer) => { const n = app.graph.getNodeById(outer) ?? app.graph.getNodeById(String(outer));
        app.canvas.openSubgraph(n.subgraph, n); app.canvas.ds.offset = [0, 0]; app.canvas.ds.scale = 1;
        app.canvas.setDirty(true, true); }""",
        built["outer"],
    )
    drag_on_canvas(comfy_page, node_id, [(240, 128 + 3 * k) for k in range(8)])  # the box down to (240, 149)
    state = comfy_page.eval(TRACKS, node_id)
    tracks = json.loads(state["widget"])["tracks"]
    assert len(tracks) == 2, tracks
    np.testing.assert_allclose(tracks[0]["points"], [[70, 130], [200, 70]], atol=2.0)
    np.testing.assert_allclose(tracks[1]["points"], [[240, 128], [240, 149]], atol=2.0)
    assert state["prompt"] == [[key, state["widget"]]] and state["saved"] == state["widget"]
    assert not comfy_page.pack_errors(), comfy_page.console_errors
