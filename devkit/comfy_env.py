"""A real ComfyUI booted inside the test process, with this pack loaded the way ComfyUI loads it."""

from __future__ import annotations

import asyncio
import concurrent.futures
import importlib
import os
import sys
import tempfile
from pathlib import Path
from types import ModuleType

from .paths import PACK_MODULE, REPO, comfy_root

_pack: ModuleType | None = None


def _run(coro):
    """asyncio.run, also from a thread whose event loop is already running (Playwright's sync API has one)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def comfy_importable() -> str:
    """Make ``comfy.*`` importable in this process, on the CPU with ComfyUI's options parsed once; returns
    ComfyUI's folder. Idempotent.

    The devkit's one ``sys.path`` edit: ComfyUI is not an installed package, its modules (``comfy``, ``nodes``,
    ``utils``, ``server``, ...) import from its folder. Anything that builds ComfyUI objects (``boot``, and the
    random-weight model files of ``sd15`` that the demo generates) calls this first, so it works in any process,
    whichever process ran first. A process spawned from one that already imported ComfyUI's ``nodes`` inherits
    ``comfy/`` on its path, which would shadow ComfyUI's top-level ``utils`` package: it is dropped here until
    ``nodes`` puts it back.
    """
    root = str(comfy_root())
    if "nodes" not in sys.modules:
        shadow = os.path.realpath(os.path.join(root, "comfy"))
        sys.path[:] = [p for p in sys.path if os.path.realpath(p or ".") != shadow]
    if root not in sys.path:
        # First: ComfyUI's top-level modules (nodes, utils, server, ...) must win over anything of ours.
        sys.path.insert(0, root)
    if "comfy.cli_args" not in sys.modules:
        import comfy.options

        comfy.options.enable_args_parsing()
        argv = sys.argv
        base = tempfile.mkdtemp(prefix="iv-comfy-inproc-")
        sys.argv = [f"{root}/main.py", "--cpu", "--base-directory", base, "--disable-auto-launch"]
        try:
            import comfy.cli_args  # noqa: F401  (parses the argv above once)
        finally:
            sys.argv = argv
    return root


def boot() -> ModuleType:
    """Import ComfyUI (CPU, a throwaway base directory), its built-in nodes, then this pack. Idempotent.

    Returns the pack's package module (``comfyui_interactivevideo``, the same module objects that any other
    import of the pack's ``core`` in this process gets).
    """
    global _pack
    if _pack is not None:
        return _pack
    comfy_importable()
    # main.py's import order: `nodes` puts comfy/ first on sys.path, after which ComfyUI's top-level `utils`
    # package is shadowed by comfy/utils.py, so everything that needs the former is imported before it.
    import utils.extra_config  # noqa: F401
    import execution  # noqa: F401
    import server  # noqa: F401
    import nodes

    _run(nodes.init_extra_nodes(init_custom_nodes=False, init_api_nodes=False))
    _pack = load_pack()
    return _pack


def load_pack() -> ModuleType:
    """Import the pack and register its nodes, as ComfyUI's ``load_custom_node`` does."""
    import nodes

    module = importlib.import_module(PACK_MODULE)
    if Path(module.__file__).resolve().parent != REPO:
        raise RuntimeError(
            f"{PACK_MODULE} imports from {Path(module.__file__).resolve().parent}, not this checkout ({REPO}): "
            "run `bash scripts/setup.sh` here"
        )
    extension = _run(module.comfy_entrypoint())
    for node_cls in _run(extension.get_node_list()):
        schema = node_cls.GET_SCHEMA()
        nodes.NODE_CLASS_MAPPINGS[schema.node_id] = node_cls
        if schema.display_name is not None:
            nodes.NODE_DISPLAY_NAME_MAPPINGS[schema.node_id] = schema.display_name
    return module


def pack_node_ids() -> list[str]:
    return sorted(cls.GET_SCHEMA().node_id for cls in boot().nodes.NODES)


def run_node(node_id: str, **inputs):
    """Execute one node the way ComfyUI's executor does (class clone, normalised output).

    Returns the NodeOutput: ``.result`` holds the outputs in schema order, ``.ui`` what the UI receives.
    """
    import nodes

    cls = nodes.NODE_CLASS_MAPPINGS[node_id]
    clone = cls.PREPARE_CLASS_CLONE({})
    return clone.EXECUTE_NORMALIZED(**inputs)


def run_node_with_defaults(node_id: str, **inputs):
    """``run_node`` with every input not given set to its declared default, as the page would fill a new node.

    For core nodes whose inputs grow between ComfyUI versions (ContextWindowsManual gained ``freenoise`` and
    more): a test names what it means and stays valid on every version.
    """
    import nodes

    schema = nodes.NODE_CLASS_MAPPINGS[node_id].GET_SCHEMA()
    for item in schema.inputs:
        if item.id not in inputs and not item.optional and getattr(item, "default", None) is not None:
            inputs[item.id] = item.default
    return run_node(node_id, **inputs)


def has_input(node_id: str, name: str) -> bool:
    """Whether this ComfyUI's ``node_id`` declares an input ``name`` (core nodes grow inputs between versions)."""
    import nodes

    return any(item.id == name for item in nodes.NODE_CLASS_MAPPINGS[node_id].GET_SCHEMA().inputs)
