"""ComfyUI glue: V3 node schemas whose ``execute`` only translates ComfyUI objects into ``core`` calls."""

from comfy_api.latest import io

from .animatediff import IV_ApplyAnimateDiff, IV_ImageAlign, IV_LoadMotionModule, IV_PIAConditioning
from .probe import IV_ImageInfo

NODES: list[type[io.ComfyNode]] = [
    IV_LoadMotionModule,
    IV_ApplyAnimateDiff,
    IV_PIAConditioning,
    IV_ImageAlign,
    IV_ImageInfo,
]
