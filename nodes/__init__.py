"""ComfyUI glue: V3 node schemas whose ``execute`` only translates ComfyUI objects into ``core`` calls."""

from comfy_api.latest import io

from .probe import IV_ImageInfo

NODES: list[type[io.ComfyNode]] = [
    IV_ImageInfo,
]
