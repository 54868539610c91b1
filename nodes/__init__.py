"""ComfyUI glue: V3 node schemas whose ``execute`` only translates ComfyUI objects into ``core`` calls."""

from comfy_api.latest import io

from .animatediff import IV_ApplyAnimateDiff, IV_ImageAlign, IV_LoadMotionModule, IV_PIAConditioning
from .guider import IV_ApplyInstructions, IV_ResidualBlendGuider
from .noise import IV_FlowNoise
from .paint import IV_PaintEncode
from .sampler import IV_Sampler
from .trajectory import IV_MotionPreview, IV_TrajectoryEditor, IV_TrajectoryToFlow

# In the order a graph reads: edits, video model, sampling.
NODES: list[type[io.ComfyNode]] = [
    IV_TrajectoryEditor,
    IV_TrajectoryToFlow,
    IV_MotionPreview,
    IV_PaintEncode,
    IV_LoadMotionModule,
    IV_ApplyAnimateDiff,
    IV_PIAConditioning,
    IV_ImageAlign,
    IV_ApplyInstructions,
    IV_ResidualBlendGuider,
    IV_FlowNoise,
    IV_Sampler,
]
