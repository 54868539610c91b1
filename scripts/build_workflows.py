"""Build the shipped workflows through the real ComfyUI frontend and save them.

    .venv/bin/python scripts/build_workflows.py [NAME ...]

For each spec in devkit/workflow_specs.py: workflows/NAME.json (the UI workflow users open; ComfyUI's template
browser lists it) and workflows/api/NAME.json (its API prompt, for headless users and the tests).
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from comfyui_interactivevideo.devkit import workflow_builder
from comfyui_interactivevideo.devkit.browser import launch, open_page
from comfyui_interactivevideo.devkit.server import ComfyServer

ROOT = Path(__file__).resolve().parents[1]

# Fit the whole graph into the canvas for the README's picture.
FIT_JS = """() => {
  const items = [...app.graph.nodes, ...app.graph.groups];
  const x0 = Math.min(...items.map((n) => n.pos[0])), y0 = Math.min(...items.map((n) => n.pos[1]));
  const x1 = Math.max(...items.map((n) => n.pos[0] + n.size[0])), y1 = Math.max(...items.map((n) => n.pos[1] + n.size[1]));
  app.canvas.ds.fitToBounds([x0 - 20, y0 - 20, x1 - x0 + 40, y1 - y0 + 40]);
  app.graph.setDirtyCanvas(true, true);
}"""


def main(names: list[str]) -> int:
    from playwright.sync_api import sync_playwright

    from comfyui_interactivevideo.devkit.workflow_specs import WORKFLOWS

    chosen = [w for w in WORKFLOWS if not names or w.name in names]
    out_dir = ROOT / "workflows"
    shots = ROOT / "docs" / "images"
    (out_dir / "api").mkdir(parents=True, exist_ok=True)
    server = ComfyServer(Path(tempfile.mkdtemp(prefix="iv-build-workflows-"))).start()
    try:
        with sync_playwright() as pw:
            browser = launch(pw)
            page = open_page(browser, server, viewport=(2400, 1250))
            for wf in chosen:
                ui, api = workflow_builder.build(page, wf)
                (out_dir / f"{wf.name}.json").write_text(json.dumps(ui, indent=1) + "\n")
                (out_dir / "api" / f"{wf.name}.json").write_text(json.dumps(api, indent=1) + "\n")
                page.eval(FIT_JS)
                page.page.wait_for_timeout(500)
                shots.mkdir(parents=True, exist_ok=True)
                page.page.screenshot(path=str(shots / f"workflow-{wf.name}.png"))
                print(
                    f"workflows/{wf.name}.json: {len(ui['nodes'])} nodes, {len(ui['links'])} links, "
                    f"{len(ui.get('groups', []))} groups"
                )
            errors = page.pack_errors()
            browser.close()
    finally:
        server.stop()
    if errors:
        print("errors in the page:\n" + "\n".join(errors), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
