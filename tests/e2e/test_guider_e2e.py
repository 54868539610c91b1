"""Paint → guider → sampler on a real ComfyUI server, with a real SD1.5 checkpoint file (random weights): at strength 1
to the end the sampled latent is, inside the painted region (or the dragged one), the stock VAE Encode of the
painted image (or of the image, moved), read back through SaveLatent; at strength 0 it is not.

On the ``sd15_server`` (tests/e2e/conftest.py: ``--fp16-unet``, the checkpoint linked as ``CKPT``).
"""

import io

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load as load_safetensors

SIZE = 64
CKPT = "iv-sd15-random.safetensors"


@pytest.fixture(scope="module")
def srv(sd15_server):
    return sd15_server


def png(array):
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def uploaded(srv):
    rng = np.random.default_rng(0)
    original = (rng.random((SIZE, SIZE, 3)) * 60 + 100).astype(np.uint8)
    painted = original.copy()
    painted[16:40, 24:48] = (230, 30, 30)
    a = srv.upload_image(png(original), "iv_original.png", overwrite=True)["name"]
    b = srv.upload_image(png(painted), "iv_painted.png", overwrite=True)["name"]
    return a, b


def common(uploaded, frames: int = 2):
    """Checkpoint, prompts, the two images, their latents (``frames`` of them to sample) and the paint edit (node
    ids 1-9). The full-size UNet is what costs here (~1 s per call on 2 CPU cores): the paint tests sample one
    frame in 2 steps (a paint acts on every frame alike), the drag two."""
    original, painted = uploaded
    return {
        "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": CKPT}},
        "2": {"class_type": "CLIPTextEncode", "inputs": {"clip": ["1", 1], "text": "a red ball"}},
        "3": {"class_type": "CLIPTextEncode", "inputs": {"clip": ["1", 1], "text": "blurry"}},
        "4": {"class_type": "LoadImage", "inputs": {"image": original}},
        "5": {"class_type": "LoadImage", "inputs": {"image": painted}},
        "6": {"class_type": "VAEEncode", "inputs": {"pixels": ["4", 0], "vae": ["1", 2]}},
        "7": {"class_type": "RepeatLatentBatch", "inputs": {"samples": ["6", 0], "amount": frames}},
        "8": {
            "class_type": "IV_PaintEncode",
            "inputs": {
                "vae": ["1", 2],
                "original": ["4", 0],
                "painted": ["5", 0],
                "threshold": 0.05,
                "grow": 0,
                "feather": 0,
            },
        },
        "9": {"class_type": "MaskToImage", "inputs": {"mask": ["8", 1]}},
        "10": {"class_type": "SaveImage", "inputs": {"images": ["9", 0], "filename_prefix": "iv_mask"}},
        # The expectations, by stock nodes: the image's and the painted image's latents.
        "30": {"class_type": "VAEEncode", "inputs": {"pixels": ["5", 0], "vae": ["1", 2]}},
        "31": {"class_type": "SaveLatent", "inputs": {"samples": ["6", 0], "filename_prefix": "iv_image"}},
        "32": {"class_type": "SaveLatent", "inputs": {"samples": ["30", 0], "filename_prefix": "iv_painted"}},
    }


# Strength 1 to the end: the sampler's last step lands on the instructed prediction.
BLEND = {"strength": 1.0, "start_percent": 0.0, "end_percent": 1.0, "curve": "constant", "mode": "residual"}
# The painted rectangle (rows 16-39, columns 24-47) covers latent rows 2-4, columns 3-5.
PAINTED = (slice(None), slice(None), slice(2, 5), slice(3, 6))


def latent(srv, history, node_id) -> torch.Tensor:
    (data,) = srv.outputs(history, node_id, kind="latents")
    return load_safetensors(data)["latent_tensor"].float()


def sampled_latent(srv, prompt: dict, sampler: str) -> tuple[torch.Tensor, dict]:
    """Run ``prompt`` with the sampler node's output saved as a latent too; (that latent, the history)."""
    history = srv.run(
        prompt
        | {"33": {"class_type": "SaveLatent", "inputs": {"samples": [sampler, 0], "filename_prefix": "iv_sampled"}}},
        timeout=900,
    )
    return latent(srv, history, "33"), history


def check_outputs(srv, history, node_id, count: int = 2):
    frames = [np.asarray(Image.open(io.BytesIO(b)).convert("RGB")) for b in srv.outputs(history, node_id)]
    assert len(frames) == count and all(f.shape == (SIZE, SIZE, 3) for f in frames)
    mask = np.asarray(Image.open(io.BytesIO(srv.outputs(history, "10")[0])).convert("L"))
    assert mask[16:40, 24:48].min() == 255 and mask.sum() == 255 * 24 * 24


def lands_on_the_paint(srv, history, out: torch.Tensor) -> None:
    painted = latent(srv, history, "32").expand_as(out)
    torch.testing.assert_close(out[PAINTED], painted[PAINTED], atol=1e-3, rtol=0)


def lands_then_misses_at_strength_zero(srv, prompt: dict, sampler: str) -> None:
    """Strength 1 to the end (node 11) lands on the paint inside its region; the control, strength 0, leaves the
    region to the model, far from the paint."""
    out, history = sampled_latent(srv, prompt, sampler)
    check_outputs(srv, history, "17", count=1)
    lands_on_the_paint(srv, history, out)
    plain, history = sampled_latent(
        srv, prompt | {"11": {**prompt["11"], "inputs": prompt["11"]["inputs"] | {"strength": 0.0}}}, sampler
    )
    painted = latent(srv, history, "32").expand_as(plain)
    assert float((plain - painted)[PAINTED].abs().amax()) > 0.5


def test_paint_encode_guider_sampler_custom_advanced(srv, uploaded):
    prompt = common(uploaded, frames=1) | {
        "11": {
            "class_type": "IV_ResidualBlendGuider",
            "inputs": {"model": ["1", 0], "positive": ["2", 0], "negative": ["3", 0], "cfg": 5.0, "edit": ["8", 0]}
            | BLEND,
        },
        "12": {"class_type": "RandomNoise", "inputs": {"noise_seed": 1}},
        "13": {"class_type": "KSamplerSelect", "inputs": {"sampler_name": "euler"}},
        "14": {
            "class_type": "BasicScheduler",
            "inputs": {"model": ["1", 0], "scheduler": "normal", "steps": 2, "denoise": 1.0},
        },
        "15": {
            "class_type": "SamplerCustomAdvanced",
            "inputs": {
                "noise": ["12", 0],
                "guider": ["11", 0],
                "sampler": ["13", 0],
                "sigmas": ["14", 0],
                "latent_image": ["7", 0],
            },
        },
        "16": {"class_type": "VAEDecode", "inputs": {"samples": ["15", 0], "vae": ["1", 2]}},
        "17": {"class_type": "SaveImage", "inputs": {"images": ["16", 0], "filename_prefix": "iv_guided"}},
    }
    lands_then_misses_at_strength_zero(srv, prompt, "15")  # strength 0: CFG alone


def test_paint_encode_iv_sampler(srv, uploaded):
    prompt = common(uploaded, frames=1) | {
        "11": {
            "class_type": "IV_Sampler",
            "inputs": {
                "model": ["1", 0],
                "seed": 1,
                "steps": 2,
                "cfg": 5.0,
                "sampler_name": "dpmpp_2m",
                "scheduler": "karras",
                "positive": ["2", 0],
                "negative": ["3", 0],
                "latent_image": ["7", 0],
                "denoise": 1.0,
                "edit": ["8", 0],
                "flow_noise": True,
            }
            | BLEND,
        },
        "16": {"class_type": "VAEDecode", "inputs": {"samples": ["11", 0], "vae": ["1", 2]}},
        "17": {"class_type": "SaveImage", "inputs": {"images": ["16", 0], "filename_prefix": "iv_sampler"}},
    }
    lands_then_misses_at_strength_zero(srv, prompt, "11")  # DPM++ 2M's last step lands too; 0: KSampler


def sampled(model: str, steps: int, prefix: str) -> dict:
    """Stock KSampler on node ``model``'s MODEL, decoded and saved as nodes 15-17."""
    inputs = {"model": [model, 0], "seed": 1, "steps": steps, "cfg": 5.0, "sampler_name": "euler"}
    inputs |= {"scheduler": "normal", "positive": ["2", 0], "negative": ["3", 0], "latent_image": ["7", 0]}
    return {
        "15": {"class_type": "KSampler", "inputs": inputs | {"denoise": 1.0}},
        "16": {"class_type": "VAEDecode", "inputs": {"samples": ["15", 0], "vae": ["1", 2]}},
        "17": {"class_type": "SaveImage", "inputs": {"images": ["16", 0], "filename_prefix": prefix}},
    }


def test_a_drag_alone_through_stock_ksampler_with_apply_instructions(srv, uploaded):
    """No paint: the image's own latent is what the flow moves; the instructions go on the MODEL line. The disk of
    radius 10 px goes 24 px (3 latent cells) right between the two frames; latent cells wholly inside it show the
    image's latent where the disk started (frame 0) and 3 cells further right (frame 1)."""
    tracks = '{"version": 1, "tracks": [{"points": [[20, 32], [44, 32]], "radius": 10}]}'
    prompt = common(uploaded) | {
        "20": {"class_type": "IV_TrajectoryEditor", "inputs": {"tracks": tracks, "frames": 2, "reference": ["4", 0]}},
        "21": {
            "class_type": "IV_TrajectoryToFlow",
            "inputs": {
                "tracks": ["20", 0],
                "width": SIZE,
                "height": SIZE,
                "interpolation": "smooth",
                "falloff": 1.0,
                "radius": 0.0,
                "size_from_image": ["4", 0],
            },
        },
        "11": {
            "class_type": "IV_ApplyInstructions",
            "inputs": {"model": ["1", 0], "image": ["6", 0], "flow": ["21", 0]}
            | {k: v for k, v in BLEND.items() if k != "mode"},
        },
        **sampled("11", 2, "iv_patched"),
    }
    out, history = sampled_latent(srv, prompt, "15")
    check_outputs(srv, history, "17")
    image = latent(srv, history, "31")[0]
    rows = slice(3, 5)  # cells (3-4, 2) lie wholly inside the disk at (20, 32) px, cells (3-4, 5) inside it at (44, 32)
    torch.testing.assert_close(out[0][:, rows, 2], image[:, rows, 2], atol=1e-3, rtol=0)
    torch.testing.assert_close(out[1][:, rows, 5], image[:, rows, 2], atol=1e-3, rtol=0)
    # Control: at strength 0 (the model alone, same seed) frame 1 there is not the moved image.
    prompt["11"]["inputs"]["strength"] = 0.0
    plain, _ = sampled_latent(srv, prompt, "15")
    assert float((plain[1][:, rows, 5] - image[:, rows, 2]).abs().amax()) > 0.5


def test_a_role_wired_into_another_roles_input_is_refused(srv, uploaded):
    from comfyui_interactivevideo.devkit.server import ServerError

    prompt = common(uploaded) | {
        "11": {
            "class_type": "IV_ImageAlign",
            "inputs": {
                "vae": ["1", 2],
                "image": ["4", 0],
                "frames": 2,
                "condition_frame": 0,
                "affinity": "animation S",
                "custom_affinity": "",
            },
        },
        "12": {
            "class_type": "IV_ApplyInstructions",
            "inputs": {"model": ["1", 0], "paint": ["11", 0]} | {k: v for k, v in BLEND.items() if k != "mode"},
        },
        **sampled("12", 1, "iv_miswired"),
    }
    with pytest.raises(ServerError, match="IV_ALIGN.*IV_PAINT|IV_PAINT.*IV_ALIGN|mismatch"):
        srv.queue(prompt)
