"""The shipped workflows only use node types and inputs that exist (UI files and their API prompts)."""

import json

import pytest

import nodes as comfy_nodes
from comfyui_interactivevideo.devkit.paths import REPO

WORKFLOWS = sorted((REPO / "workflows").glob("*.json"))
# Node types the frontend itself provides (no Python class behind them).
FRONTEND_ONLY = {"Note", "MarkdownNote", "Reroute", "PrimitiveNode"}
# Widgets the frontend adds to nodes (LoadImage's upload button, a seed's control).
FRONTEND_WIDGETS = {"upload", "control_after_generate"}


def node_info(class_type: str) -> dict:
    cls = comfy_nodes.NODE_CLASS_MAPPINGS.get(class_type)
    assert cls is not None, f"unknown node type {class_type}"
    if hasattr(cls, "GET_NODE_INFO_V1"):
        return cls.GET_NODE_INFO_V1()
    return {"input": cls.INPUT_TYPES(), "output": list(cls.RETURN_TYPES)}


def test_the_workflows_ship_with_api_copies():
    names = {p.stem for p in WORKFLOWS}
    assert {
        "interactivevideo_full_pipeline",
        "interactivevideo_animate_image",
        "interactivevideo_paint_edit_clip",
        "interactivevideo_wan_drag_and_paint",
    } <= names
    for path in WORKFLOWS:
        assert (REPO / "workflows" / "api" / path.name).is_file(), f"no API copy of {path.name}"


@pytest.mark.parametrize("path", WORKFLOWS, ids=[p.stem for p in WORKFLOWS])
def test_api_prompt_references_only_existing_types_and_inputs(pack, path):
    prompt = json.loads((REPO / "workflows" / "api" / path.name).read_text())
    for node_id, node in prompt.items():
        info = node_info(node["class_type"])
        declared = {**info["input"].get("required", {}), **info["input"].get("optional", {})}
        for name, value in node["inputs"].items():
            assert name in declared, f"{path.name}: node {node_id} ({node['class_type']}) has no input '{name}'"
            if isinstance(value, list):
                src = prompt.get(value[0])
                assert src is not None, f"{path.name}: {node_id}.{name} links to missing node {value[0]}"
                assert value[1] < len(node_info(src["class_type"])["output"]), f"{path.name}: {node_id}.{name}"
        missing = set(info["input"].get("required", {})) - set(node["inputs"])
        assert not missing, f"{path.name}: node {node_id} ({node['class_type']}) lacks required inputs {missing}"


@pytest.mark.parametrize("path", WORKFLOWS, ids=[p.stem for p in WORKFLOWS])
def test_ui_workflow_references_only_existing_types_and_inputs(pack, path):
    workflow = json.loads(path.read_text())
    for node in workflow["nodes"]:
        if node["type"] in FRONTEND_ONLY:
            continue
        info = node_info(node["type"])
        declared = {**info["input"].get("required", {}), **info["input"].get("optional", {})}
        for slot in node.get("inputs", []):
            if slot["name"] in FRONTEND_WIDGETS and slot.get("link") is None:
                continue
            assert slot["name"] in declared, f"{path.name}: {node['type']} has no input '{slot['name']}'"
        # Outputs a newer ComfyUI adds after the saved ones (SaveVideo's, core TRACKS) are fine; the saved ones
        # must keep their types.
        saved = [slot["type"] for slot in node.get("outputs", [])]
        assert saved == list(info["output"][: len(saved)]), f"{path.name}: {node['type']} outputs changed"
        assert node.get("title"), f"{path.name}: untitled {node['type']}"
    assert workflow.get("groups"), f"{path.name}: no groups"
