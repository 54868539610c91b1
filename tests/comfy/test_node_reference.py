"""docs/nodes.md's node reference is the registered nodes' own schemas (regenerate: scripts/node_reference.py)."""

from comfyui_interactivevideo.devkit import node_reference


def test_the_node_reference_matches_the_registered_nodes(pack):
    expected = node_reference.render([cls.GET_NODE_INFO_V1() for cls in pack.nodes.NODES])
    actual = node_reference.current_section(node_reference.DOC.read_text())
    if not any(f"| `{t}` |" in expected for t in node_reference.NEWER_TYPES):
        # An older ComfyUI: the reference (generated on a newer one) also documents inputs this one lacks.
        actual = node_reference.without_newer_rows(actual)
    assert actual == expected, (
        "docs/nodes.md's node reference is stale: run `IV_COMFYUI=0.33.0` `.venv-0.33.0/bin/python scripts/node_reference.py`"
    )
    for cls in pack.nodes.NODES:
        assert f"(`{cls.GET_SCHEMA().node_id}`)" in actual
