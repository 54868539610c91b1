"""ComfyUI glue: V3 node schemas whose ``execute`` only translates ComfyUI objects into ``core`` calls."""

from comfy_api.latest import io

from .guider import IV_FlowNoise, IV_ResidualBlendGuider
from .paint import IV_PaintEncode
from .sampler import IV_Sampler
from .trajectory import IV_MotionPreview, IV_TrajectoryEditor, IV_TrajectoryToFlow

NODES: list[type[io.ComfyNode]] = [
    IV_TrajectoryEditor,
    IV_TrajectoryToFlow,
    IV_MotionPreview,
    IV_PaintEncode,
    IV_ResidualBlendGuider,
    IV_FlowNoise,
    IV_Sampler,
]
