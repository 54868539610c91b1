"""ComfyUI-InteractiveVideo: the InteractiveVideo method (arXiv 2402.03040) as ComfyUI nodes.

ComfyUI loads this package as a custom node pack through ``comfy_entrypoint`` (the V3 API). Only the
entrypoint is exported: a module that also exports ``NODE_CLASS_MAPPINGS`` is loaded as V1 instead.
The web folder is registered by ``[tool.comfy] web`` in pyproject.toml.
"""

from comfy_api.latest import ComfyExtension, io
from typing_extensions import override

from .nodes import NODES


class InteractiveVideoExtension(ComfyExtension):
    @override
    async def get_node_list(self) -> list[type[io.ComfyNode]]:
        return list(NODES)


async def comfy_entrypoint() -> InteractiveVideoExtension:
    return InteractiveVideoExtension()
