"""Every touchpoint with ComfyUI internals beyond the V3 API lives here, and only here.

ModelPatcher hooks, the CFGGuider subclass, ``model_sampling``, latent formats, ``folder_paths`` registration:
when a ComfyUI update changes one of them, this is the one file to fix. Node modules import from here instead
of reaching into ``comfy.*`` themselves.
"""

from __future__ import annotations
