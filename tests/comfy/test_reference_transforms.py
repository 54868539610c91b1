"""The resize nodes the edit canvas follows upstream are the ones its route can run, in this ComfyUI.

web/js/reference_image.js lists the node types the canvas walks through; nodes/comfy_internals/reference.py runs
them. A type in one list and not the other would leave the canvas blank (or asking for what the route refuses).
"""

import re

import nodes
from comfyui_interactivevideo.devkit.paths import REPO
from comfyui_interactivevideo.nodes.comfy_internals import reference


def test_the_canvas_and_the_route_follow_the_same_resize_nodes(pack):
    js = (REPO / "web" / "js" / "reference_image.js").read_text()
    listed = re.search(r"export const TRANSFORMS = \[([^\]]*)\]", js).group(1)
    assert re.findall(r'"(\w+)"', listed) == list(reference.TRANSFORMS)
    for name in reference.TRANSFORMS:
        assert name in nodes.NODE_CLASS_MAPPINGS, f"{name} is not a node of this ComfyUI"
