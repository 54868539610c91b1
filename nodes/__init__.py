"""ComfyUI glue: V3 node schemas whose ``execute`` only translates ComfyUI objects into ``core`` calls."""

from comfy_api.latest import io

from .trajectory import IV_MotionPreview, IV_TrajectoryEditor, IV_TrajectoryToFlow

NODES: list[type[io.ComfyNode]] = [
    IV_TrajectoryEditor,
    IV_TrajectoryToFlow,
    IV_MotionPreview,
]
