"""The V3 extension ComfyUI asks the pack's entry point for."""

from comfy_api.latest import ComfyExtension, io

from . import NODES


class InteractiveVideoExtension(ComfyExtension):
    async def get_node_list(self) -> list[type[io.ComfyNode]]:
        return list(NODES)
