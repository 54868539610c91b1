"""Files in ComfyUI's input folder: the paint layer the canvas uploads."""

from __future__ import annotations

import os

import folder_paths
from comfy_execution.graph_utils import ExecutionBlocker

# The canvas uploads its layer to ComfyUI's input folder (/upload/image, subfolder "interactivevideo"); the node's
# `paint` widget holds that path relative to the input folder, as LoadImage's `image` widget does.


def resolve_input_file(name: str, what: str) -> str:
    """Absolute path of ``name``, relative to ComfyUI's input folder (a " [output]"-style suffix picks another).

    Raises ValueError for a path that leaves that folder, FileNotFoundError (naming the file, the folder looked
    in and what to do) for a missing file.
    """
    relative, base = folder_paths.annotated_filepath(name.strip())
    base = os.path.abspath(base or folder_paths.get_input_directory())
    path = os.path.abspath(os.path.join(base, relative))
    if os.path.commonpath([path, base]) != base:
        raise ValueError(f"{what} {name!r} points outside {base}; give a path inside ComfyUI's input folder")
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"{what} {name!r} not found (looked for {path}). Paint on the canvas again so it is re-uploaded, "
            f"copy the file there, or clear the field to run without it."
        )
    return path


def blocked_output(message: str) -> ExecutionBlocker:
    """An output value that cannot be computed: any node consuming it fails with ``message``; others run."""
    return ExecutionBlocker(message)
