"""A drag on an uploaded picture, end to end on a real server: the saved animated WEBP shows the motion."""

import io
import json

import numpy as np
from PIL import Image

FRAMES, H, W = 12, 96, 160


def picture() -> bytes:
    ys, xs = np.mgrid[0:H, 0:W] + 0.5
    rgb = np.full((H, W, 3), 110, np.uint8)
    rgb[((xs - 40) ** 2 + (ys - 48) ** 2) < 14**2] = (230, 30, 30)
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="PNG")
    return buf.getvalue()


def red_centroid(frame: Image.Image) -> np.ndarray:
    rgb = np.asarray(frame.convert("RGB")).astype(float)
    red = np.clip(rgb[..., 0] - rgb[..., 1] - 60, 0, None)
    ys, xs = np.mgrid[0:H, 0:W] + 0.5
    return np.array([(red * xs).sum(), (red * ys).sum()]) / red.sum()


def test_drag_preview_is_saved_as_an_animated_webp(server):
    uploaded = server.upload_image(picture(), "iv_trajectory.png", overwrite=True)
    tracks = {"version": 1, "width": W, "height": H, "tracks": [{"points": [[40, 48], [120, 48]], "radius": 14}]}
    prompt = {
        "1": {"class_type": "LoadImage", "inputs": {"image": uploaded["name"]}},
        "2": {
            "class_type": "IV_TrajectoryEditor",
            "inputs": {"tracks": json.dumps(tracks), "frames": FRAMES, "reference": ["1", 0]},
        },
        "3": {
            "class_type": "IV_TrajectoryToFlow",
            "inputs": {
                "tracks": ["2", 0],
                "width": W,
                "height": H,
                "interpolation": "smooth",
                "falloff": 1.0,
                "radius": 0.0,
            },
        },
        "4": {"class_type": "IV_MotionPreview", "inputs": {"image": ["1", 0], "flow": ["3", 0]}},
        "5": {
            "class_type": "SaveAnimatedWEBP",
            "inputs": {
                "images": ["4", 0],
                "filename_prefix": "iv_drag",
                "fps": 8.0,
                "lossless": True,
                "quality": 90,
                "method": "fastest",
            },
        },
    }
    history = server.run(prompt, timeout=180)
    (webp,) = server.outputs(history, "5")
    clip = Image.open(io.BytesIO(webp))
    assert clip.format == "WEBP" and clip.n_frames == FRAMES and clip.size == (W, H)
    for f in (0, FRAMES // 2, FRAMES - 1):
        clip.seek(f)
        expected = [40 + 80 * f / (FRAMES - 1), 48]
        np.testing.assert_allclose(red_centroid(clip), expected, atol=0.75)


def test_paint_layer_uploaded_like_the_canvas_changes_only_the_stroke(server):
    uploaded = server.upload_image(picture(), "iv_paint_base.png", overwrite=True)
    layer = np.zeros((H, W, 4), np.uint8)
    layer[60:80, 90:150] = (20, 200, 40, 255)
    buf = io.BytesIO()
    Image.fromarray(layer, "RGBA").save(buf, format="PNG")
    saved = server.upload_image(buf.getvalue(), "iv-paint-e2e.png", overwrite=True, subfolder="interactivevideo")
    assert saved["subfolder"] == "interactivevideo"
    prompt = {
        "1": {"class_type": "LoadImage", "inputs": {"image": uploaded["name"]}},
        "2": {
            "class_type": "IV_TrajectoryEditor",
            "inputs": {
                "tracks": '{"version": 1, "tracks": []}',
                "frames": 4,
                "reference": ["1", 0],
                "paint": f"interactivevideo/{saved['name']}",
            },
        },
        "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 1], "filename_prefix": "iv_painted"}},
        "4": {"class_type": "MaskToImage", "inputs": {"mask": ["2", 2]}},
        "5": {"class_type": "SaveImage", "inputs": {"images": ["4", 0], "filename_prefix": "iv_paint_mask"}},
    }
    history = server.run(prompt, timeout=120)
    (painted,) = server.outputs(history, "3")
    (mask,) = server.outputs(history, "5")
    before = np.asarray(Image.open(io.BytesIO(picture())).convert("RGB")).astype(int)
    after = np.asarray(Image.open(io.BytesIO(painted)).convert("RGB")).astype(int)
    stroke = np.zeros((H, W), bool)
    stroke[60:80, 90:150] = True
    assert after.shape == before.shape
    assert (after[stroke] == (20, 200, 40)).all()
    assert (after[~stroke] == before[~stroke]).all()
    coverage = np.asarray(Image.open(io.BytesIO(mask)).convert("L"))
    assert (coverage[stroke] == 255).all() and (coverage[~stroke] == 0).all()

    # The canvas overwrites its file in place under the same name: the editor's inputs are unchanged, so only its
    # fingerprint of the file makes it run again (without one ComfyUI would serve the cached green stroke).
    layer[60:80, 90:150] = (240, 220, 0, 255)
    buf = io.BytesIO()
    Image.fromarray(layer, "RGBA").save(buf, format="PNG")
    server.upload_image(buf.getvalue(), "iv-paint-e2e.png", overwrite=True, subfolder="interactivevideo")
    prompt["3"]["inputs"]["filename_prefix"] = "iv_painted_again"
    (again,) = server.outputs(server.run(prompt, timeout=120), "3")
    assert (np.asarray(Image.open(io.BytesIO(again)).convert("RGB"))[stroke] == (240, 220, 0)).all()
