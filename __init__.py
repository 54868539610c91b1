"""ComfyUI-InteractiveVideo: the InteractiveVideo method (arXiv 2402.03040) as ComfyUI nodes.

ComfyUI loads this package as a custom node pack through ``comfy_entrypoint`` (the V3 API). Only the
entrypoint is exported: a module that also exports ``NODE_CLASS_MAPPINGS`` is loaded as V1 instead.
The web folder is registered by ``[tool.comfy] web`` in pyproject.toml.

Importing the package imports nothing of ComfyUI: ``core`` (the method as a plain library) stays usable
without it, under one name; the nodes load when ComfyUI asks for them.
"""


async def comfy_entrypoint():
    """The V3 extension listing the pack's nodes (``comfy_api.latest.ComfyExtension``)."""
    from .nodes.extension import InteractiveVideoExtension

    return InteractiveVideoExtension()
