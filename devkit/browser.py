"""Headless Chromium (Debian's, driven by Playwright) on a ComfyUI page: shared by the browser tests and the
workflow builder."""

from __future__ import annotations

import json
import os
import shutil

# A live node by id, in the graph the canvas shows (a subgraph the user opened) or else the root graph: the frontend
# keeps ids as strings in newer versions, numbers in older ones; compare as strings.
NODE_BY_ID = """(id) => [app.canvas?.graph, app.graph].filter(Boolean).map(g => g.getNodeById(id) ??
    g.getNodeById(String(id)) ?? g.getNodeById(Number(id)) ?? g.nodes.find(n => String(n.id) === String(id)))
    .find(Boolean) ?? null"""

# Screen position of a point given in reference-image pixels, through the editor's own fit.
TO_SCREEN = (
    """([id, x, y]) => {
    const node = ("""
    + NODE_BY_ID
    + """)(id);
    const s = node.trajectoryEditor.surface;
    const r = s.canvas.getBoundingClientRect(), f = s.fit();
    return [r.left + (f.ox + x * f.scale) * r.width / s.canvas.width,
            r.top + (f.oy + y * f.scale) * r.height / s.canvas.height];
}"""
)


# The editor says it is ready (drawn at its size, the connected image shown), has not moved for two frames (the
# frontend positions DOM widgets over the graph canvas on its own frames, so a press right after creation could
# land where the editor was a frame ago), and is the element a press over it reaches.
EDITOR_SETTLED = (
    """async (id) => {
    const node = ("""
    + NODE_BY_ID
    + """)(id);
    const e = node?.trajectoryEditor;
    if (!e) return false;
    e.markReady();  // recomputed now: a link or a run the editor has not caught up with yet is 'not ready'
    if (e.root.dataset.ready !== 'true') return false;
    const canvas = e.surface.canvas;
    const box = () => JSON.stringify(canvas.getBoundingClientRect());
    const frame = () => new Promise(r => requestAnimationFrame(() => r()));
    const before = box(); await frame(); await frame();
    if (before !== box()) return false;
    // A press at the canvas's centre reaches the canvas itself, not an overlay over it (a loading mask, a dialog).
    const r = canvas.getBoundingClientRect();
    return document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2) === canvas;
}"""
)


def wait_editor_ready(comfy_page, node_id, timeout: float = 30_000) -> None:
    """Wait until the node's edit canvas is ready and still (see EDITOR_SETTLED)."""
    comfy_page.page.wait_for_function(EDITOR_SETTLED, arg=node_id, timeout=timeout, polling=100)


def drag_on_canvas(comfy_page, node_id, points: list[tuple[float, float]]) -> None:
    """Press, move through ``points`` (reference-image pixels of the node's edit canvas) and release the mouse."""
    page = comfy_page.page
    wait_editor_ready(comfy_page, node_id)
    page.mouse.move(*comfy_page.eval(TO_SCREEN, [node_id, *points[0]]))
    page.mouse.down()
    for p in points[1:]:
        page.mouse.move(*comfy_page.eval(TO_SCREEN, [node_id, *p]))
    page.mouse.up()


# The frontend has finished starting: no splash, no full-page blocking mask over the page.
STARTED = "() => !document.querySelector('#splash-loader, .p-blockui-mask-document')"

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def chromium_path() -> str | None:
    return os.environ.get("IV_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


def launch(playwright):
    path = chromium_path()
    if path is None:
        raise RuntimeError("no Chromium: `bash scripts/setup.sh --browser` installs it")
    return playwright.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)


def seed_user_settings(server) -> None:
    """A returning user: no first-run template browser over the canvas."""
    if server.base is None:
        return
    settings = server.base / "user" / "default" / "comfy.settings.json"
    settings.parent.mkdir(parents=True, exist_ok=True)
    if not settings.exists():
        settings.write_text(
            json.dumps(
                {
                    "Comfy.TutorialCompleted": True,
                    "Comfy.Minimap.Visible": False,
                    # Full detail at any zoom: screenshots of whole workflows stay readable.
                    "LiteGraph.Canvas.MinFontSizeForLOD": 0,
                }
            )
        )


class ComfyPage:
    """One browser tab on the ComfyUI page, with the console watched for errors."""

    def __init__(self, page, server):
        self.page, self.server = page, server
        self.console_errors: list[str] = []
        self.missing: list[str] = []
        page.on(
            "console", lambda m: m.type == "error" and self.console_errors.append(f"{m.text} @ {m.location.get('url')}")
        )
        page.on("pageerror", lambda e: self.console_errors.append(str(e)))
        page.on("response", lambda r: r.status == 404 and self.missing.append(r.url))

    def open(self) -> ComfyPage:
        self.page.goto(self.server.url, wait_until="domcontentloaded")
        self.page.wait_for_function("() => window.app && window.app.graph && window.LiteGraph", timeout=90_000)
        # `app.graph` exists while the frontend is still starting: its splash and a full-page PrimeVue BlockUI mask
        # (fading out) cover the page and take the first pointer press, whatever lies under them (frontend 1.49.6:
        # a drag right after a graph is built there was lost entirely). Wait until both are gone.
        self.page.wait_for_function(STARTED, timeout=90_000, polling=50)
        return self

    def pack_errors(self) -> list[str]:
        """Console errors that come from this pack (its extension files, its node types).

        The stock page logs errors of its own offline (api.comfy.org unreachable, absent user files), which
        say nothing about the pack; those are kept in ``console_errors`` for a failing test's message.
        """
        # Loading a workflow makes the page look each node type up on api.comfy.org (offline here): those failed
        # requests name IV_ types but are the stock page's, not the pack's.
        return [
            e
            for e in self.console_errors
            if ("interactivevideo" in e.lower() or "IV_" in e) and "api.comfy.org" not in e
        ]

    def eval(self, js: str, arg=None):
        return self.page.evaluate(js, arg)


VUE_NODES = "Comfy.VueNodes.Enabled"


def set_setting(server, name: str, value) -> None:
    """A user setting through ComfyUI's settings API, as the settings dialog stores it (read when the page loads)."""
    server.post_json(f"/settings/{name}", value)


def open_page(browser, server, viewport=(1400, 900), vue_nodes: bool | None = None) -> ComfyPage:
    """A fresh tab on the server's page; ``vue_nodes`` turns Nodes 2.0 (Vue node rendering) on or off first."""
    seed_user_settings(server)
    if vue_nodes is not None:
        set_setting(server, VUE_NODES, bool(vue_nodes))
    context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
    # The frontend's "try Nodes 2.0" banner would cover the top of every screenshot.
    context.add_init_script("localStorage.setItem('vueNodesBannerDismissed', 'true')")
    return ComfyPage(context.new_page(), server).open()
