"""The pack's custom ComfyUI types. One meaning each; the payload classes document their tensors.

| type               | payload                                   | made by                             |
|--------------------|-------------------------------------------|-------------------------------------|
| IV_TRACKS          | core.trajectory.Tracks                    | IV_TrajectoryEditor                 |
| IV_FLOW            | core.flow.Flow                            | IV_TrajectoryToFlow                 |
| IV_EDIT            | core.edit.Edit, or a list of them         | IV_PaintEncode, IV_ImageAlign       |
| IV_MOTION_MODULE   | core.motion_module.MotionModuleWeights    | IV_LoadMotionModule                 |
"""

from comfy_api.latest import io

Tracks = io.Custom("IV_TRACKS")
Flow = io.Custom("IV_FLOW")
Edit = io.Custom("IV_EDIT")
MotionModule = io.Custom("IV_MOTION_MODULE")
