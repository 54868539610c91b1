"""Image-to-video on a real server: a full-size SD1.5 checkpoint, a PIA-shaped motion module, 16 frames to WEBP.

CheckpointLoaderSimple → IV_LoadMotionModule → IV_ApplyAnimateDiff → IV_PIAConditioning → KSampler → VAEDecode
→ SaveAnimatedWEBP, over HTTP, with the files the fixture writes into the server's model folders.
"""

import io

import numpy as np
import pytest
from PIL import Image

from comfyui_interactivevideo.devkit import pipeline, sd15
from comfyui_interactivevideo.devkit.server import link

pytestmark = pytest.mark.slow

FRAMES = 16


@pytest.fixture(scope="module")
def model_files(server):
    """The cached random checkpoint and PIA file. The motion module under a name of its own: a Load Motion Module
    (IV) another module's prompt ran with the same inputs would come from ComfyUI's cache, without its text."""
    models = server.base / "models"
    ckpt = link(models / "checkpoints" / "v1-5-pruned-emaonly.safetensors", sd15.checkpoint_file())
    mm = link(models / "animatediff_models" / "pia-e2e.safetensors", pipeline.random_motion_module("pia"))
    return ckpt.name, mm.name


def test_pia_image_to_video_prompt_produces_an_animated_webp(server, model_files):
    ckpt, mm = model_files
    rgb = (np.random.default_rng(1).random((64, 64, 3)) * 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="PNG")
    image = server.upload_image(buf.getvalue(), "iv_intermediate.png", overwrite=True)["name"]
    prompt = {
        "ckpt": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": ckpt}},
        "mm": {"class_type": "IV_LoadMotionModule", "inputs": {"motion_module": mm}},
        "ad": {
            "class_type": "IV_ApplyAnimateDiff",
            "inputs": {
                "model": ["ckpt", 0],
                "motion_module": ["mm", 0],
                "beta_schedule": "auto",
                "motion_scale": 1.0,
                "effect": 1.0,
            },
        },
        "pos": {"class_type": "CLIPTextEncode", "inputs": {"clip": ["ckpt", 1], "text": "a boat on a lake"}},
        "neg": {"class_type": "CLIPTextEncode", "inputs": {"clip": ["ckpt", 1], "text": "blurry"}},
        "img": {"class_type": "LoadImage", "inputs": {"image": image}},
        "pia": {
            "class_type": "IV_PIAConditioning",
            "inputs": {
                "positive": ["pos", 0],
                "negative": ["neg", 0],
                "vae": ["ckpt", 2],
                "image": ["img", 0],
                "frames": FRAMES,
                "condition_frame": 0,
                "affinity": "animation M",
                "custom_affinity": "",
            },
        },
        "ks": {
            "class_type": "KSampler",
            "inputs": {
                "model": ["ad", 0],
                "seed": 0,
                "steps": 2,
                "cfg": 7.5,
                "sampler_name": "euler",
                "scheduler": "normal",
                "positive": ["pia", 0],
                "negative": ["pia", 1],
                "latent_image": ["pia", 2],
                "denoise": 1.0,
            },
        },
        "dec": {"class_type": "VAEDecode", "inputs": {"samples": ["ks", 0], "vae": ["ckpt", 2]}},
        "save": {
            "class_type": "SaveAnimatedWEBP",
            "inputs": {
                "images": ["dec", 0],
                "filename_prefix": "iv_pia",
                "fps": 8.0,
                "lossless": True,
                "quality": 80,
                "method": "fastest",
            },
        },
    }
    history = server.run(prompt, timeout=1200)
    assert history["outputs"]["mm"]["text"][0].startswith("PIA (SD1.5), 20 motion modules")
    (webp,) = server.outputs(history, "save")
    anim = Image.open(io.BytesIO(webp))
    assert anim.format == "WEBP" and anim.n_frames == FRAMES and anim.size == (64, 64)
