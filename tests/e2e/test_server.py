"""The pack in a real ComfyUI server: it loads, its nodes are served, and a prompt round-trips over HTTP."""

import io

import numpy as np
from PIL import Image

from ivtest import comfy_env
from ivtest.paths import PACK_NAME


def test_pack_loads_without_import_error(server):
    log = server.log_path.read_text(errors="replace")
    assert "IMPORT FAILED" not in "\n".join(line for line in log.splitlines() if PACK_NAME in line), log[-3000:]
    info = server.object_info()
    served = {k for k, v in info.items() if v.get("python_module", "").endswith(PACK_NAME)}
    assert served == set(comfy_env.pack_node_ids()), "the server and an in-process load disagree on the node list"


def test_prompt_with_a_pack_node_round_trips(server):
    rgb = (np.random.default_rng(0).random((48, 80, 3)) * 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="PNG")
    uploaded = server.upload_image(buf.getvalue(), "iv_probe.png", overwrite=True)
    prompt = {
        "1": {"class_type": "LoadImage", "inputs": {"image": uploaded["name"]}},
        "2": {"class_type": "IV_ImageInfo", "inputs": {"image": ["1", 0]}},
        "3": {"class_type": "RepeatImageBatch", "inputs": {"image": ["1", 0], "amount": 3}},
        "4": {"class_type": "SaveImage", "inputs": {"images": ["3", 0], "filename_prefix": "iv_probe"}},
    }
    history = server.run(prompt, timeout=120)
    assert history["outputs"]["2"]["text"] == ["1 x 80x48"]
    files = server.outputs(history, "4")
    assert len(files) == 3
    saved = np.asarray(Image.open(io.BytesIO(files[0])).convert("RGB"))
    assert np.array_equal(saved, rgb)
