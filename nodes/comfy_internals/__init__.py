"""Every touchpoint with ComfyUI internals beyond the V3 API lives in this package, and only here.

ModelPatcher hooks, the CFGGuider subclass, ``model_sampling``, latent formats, ``folder_paths``: when a ComfyUI
update changes one of them, this folder is the one place to fix. Node modules import from here instead of
reaching into ``comfy.*`` themselves. One module per concern:

- ``sampling``: the instructions as a model patch (post-CFG) and as a guider (CFGGuider, Eq. 4's dual path), σ ↔
  sampling percent, latent formats, KSampler-style runs
- ``animatediff``: the motion-module model folder and loading, UNet injection, beta schedule, PIA's conv_in
- ``files``: files in ComfyUI's input folder (the paint layer)
- ``preview``: the edit canvas's live motion preview, a route on ComfyUI's server (``PromptServer``)
- ``reference``: the edit canvas's picture before any run when resize nodes feed it, a route running those nodes
- ``routes``: adding a route to ComfyUI's server once
- ``vae``: video VAEs' temporal stride, images encoded as the codes the instructions use
- ``runtime``: the interrupt flag (for long loops) and free memory (for size guards)
"""

from .animatediff import (
    BETA_SCHEDULES,
    apply_motion_module,
    load_motion_module_file,
    motion_module_files,
    register_motion_module_folder,
    sd15_process_latent_in,
    set_noise_concat,
)
from .files import blocked_output, resolve_input_file
from .preview import register_preview_route
from .reference import register_reference_route
from .runtime import free_memory, interrupt_check
from .sampling import (
    SAMPLER_NAMES,
    SCHEDULER_NAMES,
    InstructionPlan,
    ResidualBlendGuider,
    apply_instructions,
    frame_mapping,
    has_image_conditioning,
    random_noise,
    sample_like_ksampler,
    show_text,
)
from .vae import encode_codes, latent_frames, temporal_stride

__all__ = [
    "BETA_SCHEDULES",
    "SAMPLER_NAMES",
    "SCHEDULER_NAMES",
    "InstructionPlan",
    "ResidualBlendGuider",
    "apply_instructions",
    "apply_motion_module",
    "blocked_output",
    "encode_codes",
    "latent_frames",
    "frame_mapping",
    "free_memory",
    "has_image_conditioning",
    "interrupt_check",
    "load_motion_module_file",
    "motion_module_files",
    "random_noise",
    "register_motion_module_folder",
    "register_preview_route",
    "register_reference_route",
    "resolve_input_file",
    "sample_like_ksampler",
    "sd15_process_latent_in",
    "set_noise_concat",
    "show_text",
    "temporal_stride",
]
