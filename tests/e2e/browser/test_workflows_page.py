"""The shipped workflows in the real ComfyUI page: they open without missing nodes, and the full pipeline runs
from the page after painting and dragging on its canvas with the mouse. The pictures go in the README."""

import io
import json
import time
from pathlib import Path

import av
import pytest

from comfyui_interactivevideo.devkit import pipeline, sd15
from comfyui_interactivevideo.devkit.browser import drag_on_canvas
from comfyui_interactivevideo.devkit.paths import REPO

pytestmark = pytest.mark.slow

NAMES = [
    "interactivevideo_full_pipeline",
    "interactivevideo_animate_image",
    "interactivevideo_paint_edit_clip",
    "interactivevideo_wan_drag_and_paint",
]
DOCS = REPO / "docs" / "images"
FRAMES, SIZE, STEPS = 4, 64, 2

LOAD = """async (wf) => { app.graph.clear(); await app.loadGraphData(wf);
    return app.graph.nodes.filter(n => !LiteGraph.registered_node_types[n.type]).map(n => n.type); }"""

# Shrink the graph as a user would with the widgets: small, short, few steps; the model files this server holds.
FIT = """([frames, size, steps]) => {
    const byTitle = (t) => app.graph.nodes.find(n => n.title === t);
    const set = (node, name, value) => { const w = node?.widgets?.find(w => w.name === name); if (w) w.value = value; };
    for (const n of app.graph.nodes) { set(n, 'frames', frames); }
    set(byTitle('Image size'), 'width', size); set(byTitle('Image size'), 'height', size);
    for (const t of ['Intermediate image sampler', 'Content re-render', 'Schedule', 'Sample video']) set(byTitle(t), 'steps', steps);
    set(byTitle('Load motion module'), 'motion_module', 'pia.safetensors');
    app.graph.setDirtyCanvas(true, true);
    return byTitle('Edit canvas').id;
}"""


@pytest.fixture(scope="module")
def models(server):
    links = {
        server.base / "models" / "checkpoints" / "v1-5-pruned-emaonly.safetensors": sd15.checkpoint_file(),
        server.base / "models" / "animatediff_models" / "pia.safetensors": pipeline.random_motion_module("pia"),
    }
    for link, target in links.items():
        if not link.exists():
            link.symlink_to(target)


def fit_view(comfy_page):
    comfy_page.eval("""() => {
      const items = [...app.graph.nodes, ...app.graph.groups];
      const x0 = Math.min(...items.map((n) => n.pos[0])), y0 = Math.min(...items.map((n) => n.pos[1]));
      const x1 = Math.max(...items.map((n) => n.pos[0] + n.size[0])), y1 = Math.max(...items.map((n) => n.pos[1] + n.size[1]));
      app.canvas.ds.fitToBounds([x0 - 20, y0 - 20, x1 - x0 + 40, y1 - y0 + 40]);
      app.graph.setDirtyCanvas(true, true); }""")
    comfy_page.page.wait_for_timeout(500)


def queue_and_wait(comfy_page, server, timeout=1200) -> dict:
    """Queue the page's graph with the Run button's own call and wait for the prompt's history entry."""
    before = set(server.get_json("/history"))
    comfy_page.eval("async () => { await app.queuePrompt(0, 1); }")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        new = {k: v for k, v in server.get_json("/history").items() if k not in before}
        for entry in new.values():
            status = entry.get("status", {})
            if status.get("status_str") == "error":
                raise AssertionError(f"the prompt failed: {json.dumps(status.get('messages'))[:2000]}")
            if status.get("completed"):
                return entry
        time.sleep(1)
    raise AssertionError(f"the queued prompt did not finish in {timeout}s:\n{server.log_tail()}")


@pytest.mark.parametrize("name", NAMES)
def test_workflow_opens_with_every_node_known(comfy_page, name, vue_nodes, artifacts):
    workflow = json.loads((REPO / "workflows" / f"{name}.json").read_text())
    missing = comfy_page.eval(LOAD, workflow)
    assert missing == [], f"{name}: node types the page does not know: {missing}"
    assert comfy_page.page.locator("text=Missing Node Types").count() == 0
    assert comfy_page.page.locator("text=Invalid workflow").count() == 0, "the page rejects the workflow file"
    assert comfy_page.eval("() => app.graph.nodes.length") == len(workflow["nodes"])
    fit_view(comfy_page)
    # The README's pictures come from classic rendering; a Nodes 2.0 run keeps its own among the artifacts.
    folder = artifacts / "nodes2" if vue_nodes else DOCS
    folder.mkdir(parents=True, exist_ok=True)
    comfy_page.page.screenshot(path=str(folder / f"workflow-{name}.png"))
    assert not comfy_page.pack_errors(), comfy_page.console_errors


@pytest.mark.parametrize(
    "path", sorted((REPO / "tests" / "data" / "legacy_workflows").glob("*.json")), ids=lambda p: p.stem
)
def test_a_workflow_saved_by_an_earlier_release_still_opens(comfy_page, path):
    workflow = json.loads(path.read_text())
    assert comfy_page.eval(LOAD, workflow) == []
    assert comfy_page.page.locator("text=Missing Node Types").count() == 0
    assert comfy_page.page.locator("text=Invalid workflow").count() == 0
    prompt = comfy_page.eval("async () => (await app.graphToPrompt()).output")
    guiders = [n for n in prompt.values() if n["class_type"] == "IV_ResidualBlendGuider"]
    assert guiders and all(isinstance(g["inputs"].get("edit"), list) for g in guiders)  # still wired to the paint
    assert not comfy_page.pack_errors(), comfy_page.console_errors


def test_full_pipeline_from_the_page_with_paint_and_a_track(comfy_page, server, models, vue_nodes, artifacts):
    page = comfy_page.page
    comfy_page.eval(LOAD, json.loads((REPO / "workflows" / f"{NAMES[0]}.json").read_text()))
    canvas_id = comfy_page.eval(FIT, [FRAMES, SIZE, STEPS])
    comfy_page.eval(
        "(id) => { const w = app.graph.getNodeById(id).widgets.find(w => w.name === 'tracks');"
        " w.value = JSON.stringify({version: 1, tracks: []}); }",
        canvas_id,
    )
    # First run: the intermediate image appears in the canvas.
    queue_and_wait(comfy_page, server)
    # Bring the canvas into view at full size, then draw on it.
    comfy_page.eval(
        """(id) => { const n = app.graph.getNodeById(id); app.canvas.ds.scale = 1;
        app.canvas.ds.offset = [-n.pos[0] + 80, -n.pos[1] + 120]; app.graph.setDirtyCanvas(true, true); }""",
        canvas_id,
    )
    page.wait_for_function(
        "(id) => { const e = app.graph.getNodeById(id).trajectoryEditor;"
        " return e && e.surface.image && e.surface.image.naturalWidth > 0 && e.surface.canvas.clientWidth > 100; }",
        arg=canvas_id,
        timeout=60_000,
    )

    root = page.locator(".iv-trajectory-editor")
    root.locator(".iv-mode-track").click()
    drag_on_canvas(
        comfy_page, canvas_id, [(20 + 2 * k, 40 - k) for k in range(12)]
    )  # a track on the 64 px intermediate image
    root.locator(".iv-mode-paint").click()
    root.locator(".iv-paint-color").fill("#ffd000")
    drag_on_canvas(comfy_page, canvas_id, [(8 + 3 * k, 12) for k in range(12)])  # a stroke across the sky
    page.wait_for_function(
        "(id) => app.graph.getNodeById(id).widgets.find(w => w.name === 'paint').value.startsWith('interactivevideo/')",
        arg=canvas_id,
        timeout=15_000,
    )
    prompt = comfy_page.eval("async () => (await app.graphToPrompt()).output")
    canvas = prompt[str(canvas_id)]["inputs"]
    assert len(json.loads(canvas["tracks"])["tracks"]) == 1
    assert (server.base / "input" / canvas["paint"]).is_file()

    # Second run: the edits steer the video; the page shows the outputs.
    entry = queue_and_wait(comfy_page, server)
    titles = {n["_meta"]["title"]: k for k, n in prompt.items()}
    (video,) = entry["outputs"][titles["Save video"]]["images"]
    with av.open(io.BytesIO(server.view(video))) as container:
        decoded = list(container.decode(video=0))
    assert (len(decoded), decoded[0].width, decoded[0].height) == (FRAMES, SIZE, SIZE)
    assert len(entry["outputs"][titles["Save flow colours"]]["images"]) == FRAMES
    page.wait_for_timeout(1500)  # previews render
    fit_view(comfy_page)
    page.screenshot(path=str((artifacts / "nodes2" if vue_nodes else DOCS) / "full-pipeline-after-run.png"))
    assert not comfy_page.pack_errors(), comfy_page.console_errors


def test_readme_shows_the_pictures_this_test_makes():
    readme = (REPO / "README.md").read_text()
    for name in [*(f"workflow-{n}.png" for n in NAMES), "edit-canvas.png", "live-preview.png"]:
        assert f"docs/images/{name}" in readme, f"README does not show {name}"
        assert (DOCS / name).is_file()
    assert Path(DOCS / "full-pipeline-after-run.png").name in readme
