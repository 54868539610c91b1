"""The pack in a real ComfyUI server: it loads, its nodes are served, and a prompt round-trips over HTTP."""

import io

import numpy as np
from PIL import Image

from comfyui_interactivevideo.devkit import comfy_env
from comfyui_interactivevideo.devkit.paths import PACK_NAME


def test_pack_loads_without_import_error(server):
    log = server.log_path.read_text(errors="replace")
    assert "IMPORT FAILED" not in "\n".join(line for line in log.splitlines() if PACK_NAME in line), log[-3000:]
    info = server.object_info()
    served = {k for k, v in info.items() if v.get("python_module", "").endswith(PACK_NAME)}
    assert served == set(comfy_env.pack_node_ids()), "the server and an in-process load disagree on the node list"


def test_prompt_with_a_pack_node_round_trips(server):
    """An uploaded image goes through the pack's nodes and comes back as saved files, fetched by /view."""
    rgb = (np.random.default_rng(0).random((48, 80, 3)) * 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="PNG")
    uploaded = server.upload_image(buf.getvalue(), "iv_roundtrip.png", overwrite=True)
    tracks = '{"version": 1, "tracks": [{"points": [[20, 24], [60, 24]], "radius": 8}]}'
    prompt = {
        "1": {"class_type": "LoadImage", "inputs": {"image": uploaded["name"]}},
        "2": {
            "class_type": "IV_TrajectoryEditor",
            "inputs": {"tracks": tracks, "frames": 3, "reference": ["1", 0]},
        },
        "3": {
            "class_type": "IV_TrajectoryToFlow",
            "inputs": {
                "tracks": ["2", 0],
                "width": 512,
                "height": 512,
                "interpolation": "linear",
                "falloff": 1.0,
                "radius": 0.0,
                "size_from_image": ["1", 0],
            },
        },
        "4": {"class_type": "IV_MotionPreview", "inputs": {"image": ["1", 0], "flow": ["3", 0]}},
        "5": {"class_type": "SaveImage", "inputs": {"images": ["4", 0], "filename_prefix": "iv_roundtrip"}},
    }
    history = server.run(prompt, timeout=120)
    (reference,) = server.outputs(history, "2")  # the editor shows its reference image after a run
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(reference)).convert("RGB")), rgb)
    files = server.outputs(history, "5")
    assert len(files) == 3
    first = np.asarray(Image.open(io.BytesIO(files[0])).convert("RGB")).astype(int)
    assert np.abs(first - rgb).max() <= 1  # frame 0 of a motion preview is the image itself
    last = np.asarray(Image.open(io.BytesIO(files[2])).convert("RGB")).astype(int)
    assert np.abs(last[24, 60] - rgb[24, 20]).max() <= 1  # the region at (20, 24) is now at (60, 24)
