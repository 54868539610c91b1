"""The docs' pictures of the shipped workflows, one per group, taken in the real page by scripts/build_workflows.py.

Each picture shows one group at 80 % zoom or more (readable), with the model files the workflow names present on
the server (so no loader is red) and ComfyUI's own example.png in its LoadImage (the edit canvas shows it, as a user
opening the workflow sees it). Each PNG carries the workflow as ComfyUI itself writes it into the PNGs it saves (a
``workflow`` and a ``prompt`` tEXt chunk), so dropping the picture on ComfyUI opens the workflow.
"""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

from PIL import Image, PngImagePlugin

MIN_SCALE = 0.8  # the least zoom a picture may have: text stays readable
MARGIN = 170  # screen pixels around a group: clear of the page's menus, side bar and zoom buttons
MAX_VIEWPORT = (3600, 2400)
PICTURES = Path("docs") / "images" / "workflows"


def picture_path(name: str, group: int) -> Path:
    """Where the picture of group ``group`` (1-based, as the group titles count) of workflow ``name`` goes."""
    return PICTURES / f"{name}-{group}.png"


def link_listed_models(base: Path) -> None:
    """The files the shipped workflows name, in a server base's model folders, so their loaders list them. Only
    the pictures need them and no prompt runs: SD1.5 and Wan files are random weights of the real formats, the
    motion modules and the text encoder are other random files under the shipped names (listed, never loaded)."""
    from . import pipeline, sd15, wan
    from .workflow_parts import CHECKPOINT, PIA, V3
    from .workflow_specs import WAN_HIGH, WAN_LOW, WAN_TEXT_ENCODER, WAN_VAE

    models = base / "models"
    links = {
        models / "checkpoints" / CHECKPOINT: sd15.checkpoint_file(),
        models / "animatediff_models" / PIA: pipeline.random_motion_module("pia"),
        models / "animatediff_models" / V3: pipeline.random_motion_module("v3"),
        models / "diffusion_models" / WAN_HIGH: wan.wan21_file(0, "i2v"),
        models / "diffusion_models" / WAN_LOW: wan.wan21_file(1, "i2v"),
        models / "vae" / WAN_VAE: wan.wan_vae_file(),
        models / "text_encoders" / WAN_TEXT_ENCODER: wan.wan_vae_file(),
    }
    for link, target in links.items():
        link.parent.mkdir(parents=True, exist_ok=True)
        if not link.exists():
            link.symlink_to(target)


def copy_example_image(base: Path, comfy_root: Path) -> None:
    """ComfyUI's own input/example.png, which every installation has and the workflows load."""
    shutil.copyfile(comfy_root / "input" / "example.png", base / "input" / "example.png")


GROUPS_JS = "() => app.graph.groups.map((g) => [g.title, g.size[0], g.size[1]])"

# Zoom onto group `index` (as large as fits, never under minScale), its top-left corner `margin` pixels into the
# canvas; the group's rectangle on screen.
VIEW_JS = """([index, minScale, margin]) => {
  const g = app.graph.groups[index], rect = app.canvas.canvas.getBoundingClientRect();
  const [w, h] = g.size;
  const fit = Math.min(1, (rect.width - 2 * margin) / w, (rect.height - 2 * margin) / h);
  const scale = Math.max(minScale, fit);
  app.canvas.ds.scale = scale;
  app.canvas.ds.offset = [margin / scale - g.pos[0], margin / scale - g.pos[1]];
  app.canvas.setDirty(true, true);
  return {scale, clip: {x: rect.left + margin - 6, y: rect.top + margin - 6, width: w * scale + 12, height: h * scale + 12}};
}"""

# Every edit canvas on screen shows what it should (its picture, or its hint), drawn; off screen it is hidden.
CANVASES_READY = """() => app.graph.nodes.filter((n) => n.trajectoryEditor).every((n) => {
  const e = n.trajectoryEditor, r = e.surface.canvas.getBoundingClientRect(); e.markReady();
  const shown = r.width > 100 && r.right > 0 && r.bottom > 0 && r.left < innerWidth && r.top < innerHeight;
  return !shown || e.root.dataset.ready === 'true'; })"""


def with_workflow(png: bytes, workflow: dict, prompt: dict) -> bytes:
    """``png`` re-encoded (256 colours: a screenshot of flat UI compresses several times smaller) with the workflow
    in tEXt chunks named as ComfyUI's SaveImage names them."""
    info = PngImagePlugin.PngInfo()
    info.add_text("prompt", json.dumps(prompt))
    info.add_text("workflow", json.dumps(workflow))
    image = Image.open(io.BytesIO(png)).convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT)
    out = io.BytesIO()
    image.save(out, format="PNG", pnginfo=info, optimize=True)
    return out.getvalue()


def group_pictures(comfy_page, workflow: dict, prompt: dict, out_dir: Path, name: str) -> list[tuple[str, float]]:
    """Take one picture per group of the workflow open in the page; returns (group title, zoom) per picture."""
    page = comfy_page.page
    taken = []
    for index, (title, w, h) in enumerate(comfy_page.eval(GROUPS_JS)):
        size = [min(int(w) + 2 * MARGIN + 80, MAX_VIEWPORT[0]), min(int(h) + 2 * MARGIN + 80, MAX_VIEWPORT[1])]
        page.set_viewport_size({"width": max(size[0], 1200), "height": max(size[1], 800)})
        page.wait_for_timeout(300)
        view = comfy_page.eval(VIEW_JS, [index, MIN_SCALE, MARGIN])
        page.wait_for_function(CANVASES_READY, timeout=30_000, polling=200)
        page.wait_for_timeout(600)  # DOM widgets (the canvas, notes, text boxes) follow the view on its next frames
        shot = page.screenshot(clip=view["clip"])
        path = out_dir / picture_path(name, index + 1)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(with_workflow(shot, workflow, prompt))
        taken.append((title, view["scale"]))
    return taken
