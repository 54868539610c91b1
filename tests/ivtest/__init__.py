"""Test support shared by the three test layers and by bench/: paths, an in-process ComfyUI, random
SD1.5-architecture models, and a real ComfyUI server. Nothing here is imported by the pack itself."""
