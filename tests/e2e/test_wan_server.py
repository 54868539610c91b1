"""A core Wan image-to-video graph on a real ComfyUI server, with the tiny random Wan DiT and the real-size Wan 2.1
VAE in the base directory's model folders, and the fixture node IVTest_WanTextEmbedding standing in for umt5-xxl."""

import io

import numpy as np
import pytest
from PIL import Image

from comfyui_interactivevideo.devkit import wan
from comfyui_interactivevideo.devkit.server import link

DIT_NAME = "wan2.2_i2v_tiny_random.safetensors"
VAE_NAME = "wan_2.1_vae_random.safetensors"


@pytest.fixture(scope="module")
def wan_server(server):
    """The shared server (with the fixture nodes), the model files linked in as a user's model folders hold them."""
    link(server.base / "models" / "diffusion_models" / DIT_NAME, wan.wan21_file(0, "i2v"))
    link(server.base / "models" / "vae" / VAE_NAME, wan.wan_vae_file())
    return server


def wan_i2v_prompt(image: str, length: int = 5, size: int = 64) -> dict:
    return {
        "1": {"class_type": "UNETLoader", "inputs": {"unet_name": DIT_NAME, "weight_dtype": "default"}},
        "2": {"class_type": "ModelSamplingSD3", "inputs": {"model": ["1", 0], "shift": 8.0}},
        "3": {"class_type": "VAELoader", "inputs": {"vae_name": VAE_NAME}},
        "4": {"class_type": "LoadImage", "inputs": {"image": image}},
        "5": {"class_type": "IVTest_WanTextEmbedding", "inputs": {"text": "a red fox runs", "length": 512}},
        "6": {"class_type": "IVTest_WanTextEmbedding", "inputs": {"text": "blurry, static", "length": 512}},
        "7": {
            "class_type": "WanImageToVideo",
            "inputs": {
                "positive": ["5", 0],
                "negative": ["6", 0],
                "vae": ["3", 0],
                "width": size,
                "height": size,
                "length": length,
                "batch_size": 1,
                "start_image": ["4", 0],
            },
        },
        "8": {
            "class_type": "KSampler",
            "inputs": {
                "model": ["2", 0],
                "seed": 7,
                "steps": 2,
                "cfg": 3.0,
                "sampler_name": "euler",
                "scheduler": "simple",
                "positive": ["7", 0],
                "negative": ["7", 1],
                "latent_image": ["7", 2],
                "denoise": 1.0,
            },
        },
        "9": {"class_type": "VAEDecode", "inputs": {"samples": ["8", 0], "vae": ["3", 0]}},
        "10": {"class_type": "SaveImage", "inputs": {"images": ["9", 0], "filename_prefix": "iv_wan_i2v"}},
    }


def test_fixture_node_and_model_files_are_served(wan_server):
    info = wan_server.object_info()
    assert "IVTest_WanTextEmbedding" in info
    assert info["IVTest_WanTextEmbedding"]["output"] == ["CONDITIONING"]
    assert DIT_NAME in info["UNETLoader"]["input"]["required"]["unet_name"][0]
    assert VAE_NAME in info["VAELoader"]["input"]["required"]["vae_name"][0]


def test_wan_image_to_video_prompt_writes_frames(wan_server):
    rgb = (np.random.default_rng(0).random((64, 64, 3)) * 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="PNG")
    uploaded = wan_server.upload_image(buf.getvalue(), "iv_wan_start.png", overwrite=True)
    history = wan_server.run(wan_i2v_prompt(uploaded["name"]), timeout=300)
    files = wan_server.outputs(history, "10")
    assert len(files) == 5  # 5 frames: 2 latent frames, 4x temporal, causal first frame
    for data in files:
        assert Image.open(io.BytesIO(data)).size == (64, 64)
