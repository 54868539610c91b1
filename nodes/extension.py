"""The V3 extension ComfyUI asks the pack's entry point for."""

from comfy_api.latest import ComfyExtension, io

from . import NODES
from .comfy_internals import register_preview_route, register_reference_route


class InteractiveVideoExtension(ComfyExtension):
    async def get_node_list(self) -> list[type[io.ComfyNode]]:
        # ComfyUI 0.3.75 never calls on_load; this runs in every version, before the server adds its routes.
        register_preview_route()
        register_reference_route()
        return list(NODES)
