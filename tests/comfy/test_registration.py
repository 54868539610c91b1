"""Every node of the pack registers in a real ComfyUI with a complete, documented V3 schema."""

import nodes as comfy_nodes
from comfyui_interactivevideo.devkit import comfy_env


def test_every_pack_node_is_registered(pack):
    ids = comfy_env.pack_node_ids()
    assert ids, "the pack defines no nodes"
    for node_id in ids:
        assert comfy_nodes.NODE_CLASS_MAPPINGS[node_id].GET_SCHEMA().node_id == node_id


def test_only_the_v3_entrypoint_is_exported(pack):
    # A module exporting NODE_CLASS_MAPPINGS is loaded as V1 and its comfy_entrypoint ignored.
    assert not hasattr(pack, "NODE_CLASS_MAPPINGS")
    assert callable(pack.comfy_entrypoint)


def test_every_schema_is_documented(pack):
    problems = []
    for node_id in comfy_env.pack_node_ids():
        cls = comfy_nodes.NODE_CLASS_MAPPINGS[node_id]
        schema = cls.GET_SCHEMA()
        if not node_id.startswith("IV_"):
            problems.append(f"{node_id}: id without the IV_ prefix")
        if not (schema.display_name and schema.category.startswith("InteractiveVideo")):
            problems.append(f"{node_id}: no display name or category outside InteractiveVideo/")
        if not schema.description:
            problems.append(f"{node_id}: no description")
        problems += [f"{node_id}.{i.id}: no tooltip" for i in schema.inputs if not getattr(i, "tooltip", None)]
        if cls.GET_NODE_INFO_V1()["name"] != node_id:  # what /object_info serves to the frontend
            problems.append(f"{node_id}: /object_info entry has another name")
    assert not problems, "\n".join(problems)


def test_the_pack_has_one_import_identity(pack):
    """Tests, scripts and benchmarks import the pack's library as comfyui_interactivevideo.core; the nodes ComfyUI
    loads must use those very classes, or an isinstance check between the two would fail."""
    import sys

    from comfyui_interactivevideo.core import instructions
    from comfyui_interactivevideo.nodes import guider

    assert pack is sys.modules["comfyui_interactivevideo"]
    assert guider.Paint is instructions.Paint
    assert not any(name == "core" or name.startswith("core.") for name in sys.modules)
