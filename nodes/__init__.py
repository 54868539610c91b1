"""ComfyUI glue: V3 node schemas whose ``execute`` only translates ComfyUI objects into ``core`` calls."""

from comfy_api.latest import io

from .guider import IV_FlowNoise, IV_ResidualBlendGuider
from .paint import IV_PaintEncode
from .probe import IV_ImageInfo
from .sampler import IV_Sampler

NODES: list[type[io.ComfyNode]] = [
    IV_FlowNoise,
    IV_ResidualBlendGuider,
    IV_PaintEncode,
    IV_ImageInfo,
    IV_Sampler,
]
