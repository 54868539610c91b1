"""Regenerate the node reference in README.md from the registered node schemas.

.venv-0.33.0/bin/python scripts/node_reference.py          # rewrite README.md's section (on the newest ComfyUI
                                                            # of the matrix, COMFYUI_DIR=.comfyui-0.33.0)
.venv/bin/python scripts/node_reference.py --check         # exit 1 if README.md is out of date
"""

import sys
from pathlib import Path

from comfyui_interactivevideo.devkit import comfy_env, node_reference

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str]) -> int:
    pack = comfy_env.boot()
    section = node_reference.render([cls.GET_NODE_INFO_V1() for cls in pack.nodes.NODES])
    readme_path = ROOT / "README.md"
    readme = readme_path.read_text()
    updated = node_reference.replace_section(readme, section)
    older = not any(f"| `{t}` |" in section for t in node_reference.NEWER_TYPES)
    if "--check" in argv:
        current = node_reference.current_section(readme)
        if (node_reference.without_newer_rows(current) if older else current) != section:
            print("README.md's node reference is out of date: run scripts/node_reference.py", file=sys.stderr)
            return 1
        return 0
    if older:
        print("this ComfyUI lacks core TRACKS: generate the reference on the newest ComfyUI of the matrix", file=sys.stderr)
        return 1
    readme_path.write_text(updated)
    print(f"README.md: node reference for {len(pack.nodes.NODES)} nodes")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
