"""The shipped workflows, declared as data and built by scripts/build_workflows.py through the real frontend."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from ivtest.workflow_builder import Group, Node, Workflow  # noqa: E402

CHECKPOINT = "v1-5-pruned-emaonly.safetensors"


def t2i_nodes(prompt: str) -> tuple[list[Node], list[tuple]]:
    nodes = [
        Node("ckpt", "CheckpointLoaderSimple", "Load SD1.5 checkpoint", 0, {"ckpt_name": CHECKPOINT}),
        Node("pos", "CLIPTextEncode", "Prompt", 1, {"text": prompt}),
        Node("neg", "CLIPTextEncode", "Negative prompt", 1, {"text": "blurry, low quality, watermark"}),
        Node("empty", "EmptyLatentImage", "Image size", 0, {"width": 512, "height": 512, "batch_size": 1}),
        Node(
            "t2i",
            "KSampler",
            "Intermediate image sampler",
            2,
            {"seed": 1, "control_after_generate": "fixed", "steps": 25, "cfg": 7.5},
        ),
        Node("decode", "VAEDecode", "Decode intermediate image", 3),
    ]
    links = [
        ("ckpt", "MODEL", "t2i", "model"),
        ("ckpt", "CLIP", "pos", "clip"),
        ("ckpt", "CLIP", "neg", "clip"),
        ("pos", 0, "t2i", "positive"),
        ("neg", 0, "t2i", "negative"),
        ("empty", 0, "t2i", "latent_image"),
        ("t2i", 0, "decode", "samples"),
        ("ckpt", "VAE", "decode", "vae"),
    ]
    return nodes, links


_nodes, _links = t2i_nodes("a red fox in a snowy forest, photo")
WORKFLOWS: list[Workflow] = [
    Workflow(
        "smoke_t2i",
        _nodes + [Node("preview", "PreviewImage", "Intermediate image", 3)],
        _links + [("decode", 0, "preview", "images")],
        [Group("1. Intermediate image (text to image)", ["ckpt", "pos", "neg", "empty", "t2i", "decode", "preview"])],
    ),
]
