"""The pack's custom ComfyUI types. One meaning each; the payload classes document their tensors.

| type               | payload                                   | made by                             |
|--------------------|-------------------------------------------|-------------------------------------|
| IV_TRACKS          | core.trajectory.Tracks                    | IV_TrajectoryEditor                 |
| IV_FLOW            | core.flow.Flow (the motion instruction)   | IV_TrajectoryToFlow                 |
| IV_PAINT           | core.instructions.Paint, or a list        | IV_PaintEncode                      |
| IV_ALIGN           | core.instructions.Align                   | IV_ImageAlign                       |
| IV_MOTION_MODULE   | core.motion_module.MotionModuleWeights    | IV_LoadMotionModule                 |

Each instruction role has its own type, so a paint cannot be wired into an alignment input or the reverse: the
frontend refuses the link and the server refuses such a prompt.
"""

from comfy_api.latest import io

Tracks = io.Custom("IV_TRACKS")
Flow = io.Custom("IV_FLOW")
Paint = io.Custom("IV_PAINT")
Align = io.Custom("IV_ALIGN")
MotionModule = io.Custom("IV_MOTION_MODULE")
