"""Build the shipped workflows through the real ComfyUI frontend, save them and take the docs' pictures.

    .venv/bin/python scripts/build_workflows.py [NAME ...]

For each spec in devkit/workflow_specs.py: workflows/NAME.json (the UI workflow users open; ComfyUI's template
browser lists it), workflows/api/NAME.json (its API prompt, for headless users and the tests), and one picture per
group, docs/images/workflows/NAME-K.png (devkit/workflow_pictures.py: at 80 % zoom or more, the workflow embedded,
so a picture dropped on ComfyUI opens it).
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from comfyui_interactivevideo.devkit import workflow_builder, workflow_pictures
from comfyui_interactivevideo.devkit.browser import launch, open_page
from comfyui_interactivevideo.devkit.paths import comfy_root
from comfyui_interactivevideo.devkit.server import ComfyServer

ROOT = Path(__file__).resolve().parents[1]


def main(names: list[str]) -> int:
    from playwright.sync_api import sync_playwright

    from comfyui_interactivevideo.devkit.workflow_specs import WORKFLOWS

    chosen = [w for w in WORKFLOWS if not names or w.name in names]
    out_dir = ROOT / "workflows"
    (out_dir / "api").mkdir(parents=True, exist_ok=True)
    server = ComfyServer(Path(tempfile.mkdtemp(prefix="iv-build-workflows-")))
    workflow_pictures.link_listed_models(server.base)
    workflow_pictures.copy_example_image(server.base, comfy_root())
    server.start()
    try:
        with sync_playwright() as pw:
            browser = launch(pw)
            page = open_page(browser, server, viewport=(2400, 1250))
            for wf in chosen:
                ui, api = workflow_builder.build(page, wf)
                (out_dir / f"{wf.name}.json").write_text(json.dumps(ui, indent=1) + "\n")
                (out_dir / "api" / f"{wf.name}.json").write_text(json.dumps(api, indent=1) + "\n")
                shots = workflow_pictures.group_pictures(page, ui, api, ROOT, wf.name)
                print(
                    f"workflows/{wf.name}.json: {len(ui['nodes'])} nodes, {len(ui['links'])} links, "
                    f"{len(ui.get('groups', []))} groups; pictures at zoom "
                    + ", ".join(f"{scale:.2f}" for _, scale in shots)
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
