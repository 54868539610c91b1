"""The running ComfyUI: its interrupt flag (the Cancel button, ``/interrupt``) and the memory it can still use."""

from __future__ import annotations

import torch


def interrupt_check() -> None:
    """Raise ComfyUI's InterruptProcessingException if the user cancelled the prompt; a callback for long loops."""
    import comfy.model_management

    comfy.model_management.throw_exception_if_processing_interrupted()


def free_memory(device: torch.device | str = "cpu") -> int:
    """Bytes still available on ``device`` (system RAM for the CPU), as ComfyUI's memory manager reckons them."""
    import comfy.model_management

    return int(comfy.model_management.get_free_memory(torch.device(device)))
