"""Regenerate the node reference in docs/nodes.md from the registered node schemas.

.venv-0.33.0/bin/python scripts/node_reference.py          # rewrite docs/nodes.md's section (on the newest ComfyUI
                                                            # of the matrix, COMFYUI_DIR=.comfyui-0.33.0)
.venv/bin/python scripts/node_reference.py --check         # exit 1 if docs/nodes.md is out of date
"""

import sys

from comfyui_interactivevideo.devkit import comfy_env, node_reference


def main(argv: list[str]) -> int:
    pack = comfy_env.boot()
    section = node_reference.render([cls.GET_NODE_INFO_V1() for cls in pack.nodes.NODES])
    doc_path = node_reference.DOC
    doc = doc_path.read_text()
    updated = node_reference.replace_section(doc, section)
    older = not any(f"| `{t}` |" in section for t in node_reference.NEWER_TYPES)
    if "--check" in argv:
        current = node_reference.current_section(doc)
        if (node_reference.without_newer_rows(current) if older else current) != section:
            print("docs/nodes.md's node reference is out of date: run scripts/node_reference.py", file=sys.stderr)
            return 1
        return 0
    if older:
        print(
            "this ComfyUI lacks core TRACKS: generate the reference on the newest ComfyUI of the matrix",
            file=sys.stderr,
        )
        return 1
    doc_path.write_text(updated)
    print(f"docs/nodes.md: node reference for {len(pack.nodes.NODES)} nodes")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
