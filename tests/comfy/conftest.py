"""In-process ComfyUI: the real ComfyUI imported into the test process with this pack loaded.

ComfyUI boots when this folder is collected, so test modules here may import ComfyUI's modules (`nodes`,
`comfy.*`) and the pack's (`comfyui_interactivevideo.core`, `.nodes`) at the top.
"""

import pytest
import torch

from comfyui_interactivevideo.devkit import comfy_env, sd15

PACK = comfy_env.boot()


@pytest.fixture(scope="session")
def pack():
    """The pack's package module, loaded into a booted ComfyUI (CPU)."""
    return PACK


@pytest.fixture(scope="session")
def run_node(pack):
    return comfy_env.run_node


@pytest.fixture
def small_model(pack):
    """SD1.5's block structure at width 32 with random weights: a fast stand-in where exact sizes do not matter."""
    return sd15.build_model(seed=0, model_channels=32)


@pytest.fixture(scope="module")
def sd15_full(pack):
    """A full-size random SD1.5 checkpoint read by ComfyUI's own loader: (model, clip, vae). Module scope: its
    ~4 GB would otherwise stay in the test process beside the e2e layer's servers."""
    import comfy.sd

    model, clip, vae, _ = comfy.sd.load_checkpoint_guess_config(
        str(sd15.checkpoint_file()), output_vae=True, output_clip=True
    )
    return model, clip, vae


@pytest.fixture(autouse=True)
def _no_grad():
    with torch.no_grad():
        yield
