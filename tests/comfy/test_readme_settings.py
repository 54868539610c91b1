"""The README's "What to turn" table names real settings: every `input` it says to turn is an input of a node, every
*value* it gives such an input is one of that input's choices, and every node it says where to find is a node of a
shipped workflow (by title). Control: a setting no node has, a choice an input lacks and a title no workflow has
are reported by the same check.
"""

import json
import re

import nodes
from comfyui_interactivevideo.devkit.paths import REPO

README = (REPO / "README.md").read_text()


def table() -> list[tuple[str, str]]:
    """(what to turn, where) of each row of the README's "What to turn" table."""
    section = README.split("## What to turn", 1)[1].split("\n## ", 1)[0]
    rows = [r.split("|")[1:-1] for r in section.splitlines() if r.startswith("| ") and not r.startswith("| the video")]
    return [(turn, where) for _, turn, where in rows]


def inputs_by_name() -> dict[str, list]:
    """Input name -> the specs of that input across every registered node (ComfyUI's and the pack's)."""
    found: dict[str, list] = {}
    for cls in nodes.NODE_CLASS_MAPPINGS.values():
        try:
            declared = cls.GET_NODE_INFO_V1()["input"] if hasattr(cls, "GET_NODE_INFO_V1") else cls.INPUT_TYPES()
        except Exception:  # a node that cannot describe itself here says nothing about the README
            continue
        for group in ("required", "optional"):
            for name, spec in declared.get(group, {}).items():
                found.setdefault(name, []).append(spec)
    return found


def titles() -> set[str]:
    return {
        node.get("title")
        for path in (REPO / "workflows").glob("*.json")
        for node in json.loads(path.read_text())["nodes"]
    }


def choices(spec) -> list:
    kind = spec[0]
    if isinstance(kind, list):
        return kind
    return list(spec[1].get("options", [])) if kind == "COMBO" and len(spec) > 1 else []


def problems(rows: list[tuple[str, str]]) -> list[str]:
    known, shipped, found = inputs_by_name(), titles(), []
    for turn, where in rows:
        for name, value in re.findall(r"`([a-z_]+)`(?: to)? ?(?:\*([^*]+)\*)?", turn):
            if name not in known:
                found.append(f"`{name}` is no node's input")
            elif value and not any(value in choices(spec) for spec in known[name]):
                found.append(f"*{value}* is not a choice of `{name}`")
        found += [f"*{t}* is no shipped node's title" for t in re.findall(r"\*([^*]+)\*", where) if t not in shipped]
    return found


def test_what_to_turn_names_real_settings_choices_and_nodes(pack):
    rows = table()
    assert len(rows) == 8
    assert problems(rows) == []


def test_control_made_up_settings_are_reported(pack):
    assert problems([("`no_such_knob`; `affinity` to *animation XL*", "*Nowhere node*")]) == [
        "`no_such_knob` is no node's input",
        "*animation XL* is not a choice of `affinity`",
        "*Nowhere node* is no shipped node's title",
    ]
