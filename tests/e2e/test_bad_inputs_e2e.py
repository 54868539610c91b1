"""A catalogue of bad inputs sent over HTTP to a real server: each gets ComfyUI's refusal (HTTP 400, or
``node_errors`` beside an output left valid) or an execution error whose message names the input or file and the
problem, the server stays up, and a valid prompt gives the same output at the end as at the start.

On the ``sd15_server`` (tests/e2e/conftest.py), as test_guider_e2e: started with ``--fp16-unet`` and a random SD1.5
checkpoint for the cases on sampling nodes (loaded once, on the first such case; ComfyUI caches it for the rest).
"""

from __future__ import annotations

import io
import json
import re
import time
import urllib.error

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import save_file

from comfyui_interactivevideo.devkit import animatediff as ad
from comfyui_interactivevideo.devkit.server import ComfyServer, ServerError

SIZE = 64
CKPT = "iv-sd15-random.safetensors"
TRACK = {"points": [[20, 32], [44, 32]], "radius": 8}


def png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def picture() -> Image.Image:
    ys, xs = np.mgrid[0:SIZE, 0:SIZE] + 0.5
    rgb = np.full((SIZE, SIZE, 3), 110, np.uint8)
    rgb[((xs - 20) ** 2 + (ys - 32) ** 2) < 8**2] = (230, 30, 30)
    return Image.fromarray(rgb)


def motion_files(folder) -> None:
    """Bad motion-module files, one per way a file can be wrong."""
    import os

    class Unsafe:
        def __reduce__(self):
            return (os.system, ("echo unsafe",))

    torch.save({"x": Unsafe()}, folder / "iv-unsafe.ckpt")
    (folder / "iv-garbage.safetensors").write_bytes(b"\x00\x01 not a safetensors file" * 40)
    torch.save([torch.zeros(2)], folder / "iv-list.ckpt")
    keys = list(ad.manifest("v3_sd15_mm"))
    save_file({k: torch.zeros(1) for k in keys}, str(folder / "iv-wrong-shapes.safetensors"))
    shapes = ad.manifest("v3_sd15_mm")
    partial = {k: torch.zeros(shapes[k]) for k in keys[: len(keys) // 3] if not k.endswith("pos_encoder.pe")}
    partial.update(
        {k: ad.sinusoid(shapes[k][1], shapes[k][2]) for k in keys[: len(keys) // 3] if k.endswith("pos_encoder.pe")}
    )
    save_file(partial, str(folder / "iv-partial-v3.safetensors"))
    save_file({"lora_unet_down_blocks_0.lora_down.weight": torch.zeros(2)}, str(folder / "iv-lora.safetensors"))


@pytest.fixture(scope="module")
def srv(sd15_server):
    motion_files(sd15_server.base / "models" / "animatediff_models")
    sd15_server.upload_image(png(picture()), "iv_bad_picture.png", overwrite=True)
    sd15_server.upload_image(
        b"this is not a picture", "iv-not-an-image.png", overwrite=True, subfolder="interactivevideo"
    )
    sd15_server.upload_image(
        png(Image.new("1", (9000, 9000))), "iv-bomb.png", overwrite=True, subfolder="interactivevideo"
    )
    return sd15_server


# -- prompts ---------------------------------------------------------------------------------------


def flow_prompt(tracks=None, frames=4, paint="", reference=True, **flow) -> dict:
    """LoadImage -> Edit Canvas -> Trajectory to Flow -> Motion Preview -> SaveImage (node "5")."""
    text = tracks if isinstance(tracks, str) else json.dumps(tracks or {"version": 1, "tracks": [TRACK]})
    editor = {"tracks": text, "frames": frames, "paint": paint}
    if reference:
        editor["reference"] = ["1", 0]
    inputs = {"tracks": ["2", 0], "width": SIZE, "height": SIZE, "interpolation": "linear", "falloff": 1.0}
    return {
        "1": {"class_type": "LoadImage", "inputs": {"image": "iv_bad_picture.png"}},
        "2": {"class_type": "IV_TrajectoryEditor", "inputs": editor},
        "3": {"class_type": "IV_TrajectoryToFlow", "inputs": {**inputs, "radius": 0.0, **flow}},
        "4": {"class_type": "IV_MotionPreview", "inputs": {"image": ["1", 0], "flow": ["3", 0]}},
        "5": {"class_type": "SaveImage", "inputs": {"images": ["4", 0], "filename_prefix": "iv_bad"}},
    }


def motion_prompt(name: str) -> dict:
    return {
        "1": {"class_type": "IV_LoadMotionModule", "inputs": {"motion_module": name}},
        "2": {"class_type": "PreviewAny", "inputs": {"source": ["1", 1]}},
    }


def models() -> dict:
    """Checkpoint, prompts, a 2-frame empty latent, the picture (nodes m1-m5)."""
    return {
        "m1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": CKPT}},
        "m2": {"class_type": "CLIPTextEncode", "inputs": {"clip": ["m1", 1], "text": "a ball"}},
        "m3": {"class_type": "CLIPTextEncode", "inputs": {"clip": ["m1", 1], "text": ""}},
        "m4": {"class_type": "EmptyLatentImage", "inputs": {"width": SIZE, "height": SIZE, "batch_size": 2}},
        "m5": {"class_type": "LoadImage", "inputs": {"image": "iv_bad_picture.png"}},
    }


SCHEDULE = {"strength": 1.0, "start_percent": 0.0, "end_percent": 0.8, "curve": "constant"}


def guider_prompt(**bad) -> dict:
    guider = {"model": ["m1", 0], "positive": ["m2", 0], "negative": ["m3", 0], "cfg": 7.0, **SCHEDULE}
    return {
        **models(),
        "g1": {"class_type": "IV_ResidualBlendGuider", "inputs": {**guider, "mode": "residual", **bad}},
        "g2": {"class_type": "RandomNoise", "inputs": {"noise_seed": 0}},
        "g3": {"class_type": "KSamplerSelect", "inputs": {"sampler_name": "euler"}},
        "g4": {
            "class_type": "BasicScheduler",
            "inputs": {"model": ["m1", 0], "scheduler": "normal", "steps": 1, "denoise": 1.0},
        },
        "g5": {
            "class_type": "SamplerCustomAdvanced",
            "inputs": {
                "noise": ["g2", 0],
                "guider": ["g1", 0],
                "sampler": ["g3", 0],
                "sigmas": ["g4", 0],
                "latent_image": ["m4", 0],
            },  # fmt: skip
        },
        "g6": {"class_type": "SaveLatent", "inputs": {"samples": ["g5", 0], "filename_prefix": "iv_bad"}},
    }


def sampler_prompt(**bad) -> dict:
    inputs = {
        "model": ["m1", 0], "seed": 0, "steps": 1, "cfg": 7.0, "sampler_name": "euler", "scheduler": "normal",
        "positive": ["m2", 0], "negative": ["m3", 0], "latent_image": ["m4", 0], "denoise": 1.0, **SCHEDULE,
        "mode": "residual", "flow_noise": True,
    }  # fmt: skip
    return {
        **models(),
        "s1": {"class_type": "IV_Sampler", "inputs": {**inputs, **bad}},
        "s2": {"class_type": "SaveLatent", "inputs": {"samples": ["s1", 0], "filename_prefix": "iv_bad"}},
    }


def align_prompt(node="IV_ImageAlign", **bad) -> dict:
    inputs = {
        "vae": ["m1", 2], "image": ["m5", 0], "frames": 2, "condition_frame": 0, "affinity": "animation M",
        "custom_affinity": "1, 0.8",
    }  # fmt: skip
    if node == "IV_PIAConditioning":
        inputs.update(positive=["m2", 0], negative=["m3", 0])
        tail = {"a2": {"class_type": "SaveLatent", "inputs": {"samples": ["a1", 2], "filename_prefix": "iv_bad"}}}
    else:
        tail = {
            "a2": {
                "class_type": "IV_ApplyInstructions",
                "inputs": {"model": ["m1", 0], "align": ["a1", 0], **SCHEDULE},
            },
            "a3": ksampler(["a2", 0]),
            "a4": {"class_type": "SaveLatent", "inputs": {"samples": ["a3", 0], "filename_prefix": "iv_bad"}},
        }
    return {**models(), "a1": {"class_type": node, "inputs": {**inputs, **bad}}, **tail}


def ksampler(model) -> dict:
    return {
        "class_type": "KSampler",
        "inputs": {
            "model": model, "seed": 0, "steps": 1, "cfg": 7.0, "sampler_name": "euler", "scheduler": "normal",
            "positive": ["m2", 0], "negative": ["m3", 0], "latent_image": ["m4", 0], "denoise": 1.0,
        },
    }  # fmt: skip


def apply_prompt(**bad) -> dict:
    apply = {"model": ["m1", 0], "image": ["m6", 0], **SCHEDULE, **bad}
    return {
        **models(),
        "m6": {"class_type": "VAEEncode", "inputs": {"pixels": ["m5", 0], "vae": ["m1", 2]}},
        "p1": {"class_type": "IV_ApplyInstructions", "inputs": apply},
        "p2": ksampler(["p1", 0]),
        "p3": {"class_type": "SaveLatent", "inputs": {"samples": ["p2", 0], "filename_prefix": "iv_bad"}},
    }


def animatediff_prompt(**bad) -> dict:
    inputs = {
        "model": ["m1", 0],
        "motion_module": ["d1", 0],
        "beta_schedule": "auto",
        "motion_scale": 1.0,
        "effect": 1.0,
    }
    return {
        **models(),
        "d1": {"class_type": "IV_LoadMotionModule", "inputs": {"motion_module": "iv-garbage.safetensors"}},
        "d2": {"class_type": "IV_ApplyAnimateDiff", "inputs": {**inputs, **bad}},
        "d3": ksampler(["d2", 0]),
        "d4": {"class_type": "SaveLatent", "inputs": {"samples": ["d3", 0], "filename_prefix": "iv_bad"}},
    }


def paint_encode_prompt(**bad) -> dict:
    inputs = {"vae": ["m1", 2], "original": ["m5", 0], "painted": ["m5", 0], "threshold": 0.04, "grow": 8, "feather": 8}
    return {
        **models(),
        "e1": {"class_type": "IV_PaintEncode", "inputs": {**inputs, **bad}},
        "e2": {"class_type": "MaskToImage", "inputs": {"mask": ["e1", 1]}},
        "e3": {"class_type": "PreviewImage", "inputs": {"images": ["e2", 0]}},
    }


def flow_noise_prompt(**bad) -> dict:
    prompt = guider_prompt()
    flow = flow_prompt()
    prompt.update({k: v for k, v in flow.items() if k in ("1", "2", "3")})
    prompt["n1"] = {
        "class_type": "IV_FlowNoise",
        "inputs": {"noise_seed": 0, "flow": ["3", 0], "variation": 0.0, **bad},
    }
    prompt["g5"]["inputs"]["noise"] = ["n1", 0]
    return prompt


NAN, INF = float("nan"), float("inf")
WIDE = {"version": 1, "width": INF, "height": SIZE, "tracks": [TRACK]}


def tracks_text(*tracks, **extra) -> str:
    return json.dumps({"version": 1, "tracks": list(tracks), **extra})


# (id, prompt factory, words the message must contain (all, case-sensitive)); "400" marks ComfyUI's own refusal
# (see submit).
CASES = [
    # non-finite numbers
    ("falloff-nan", lambda: flow_prompt(falloff=NAN), ["'falloff' is NaN", "finite number between 0.05 and 8"]),
    ("falloff-inf", lambda: flow_prompt(falloff=INF), ["400?falloff", "'falloff' is +infinity"]),
    ("falloff-neg-inf", lambda: flow_prompt(falloff=-INF), ["400?falloff", "'falloff' is -infinity"]),
    ("radius-nan", lambda: flow_prompt(radius=NAN), ["'radius' is NaN"]),
    ("radius-inf", lambda: flow_prompt(radius=INF), ["400?radius", "'radius' is +infinity"]),
    ("track-width-inf", lambda: flow_prompt(WIDE), ["width/height must be numbers of pixels"]),
    ("track-radius-nan", lambda: flow_prompt(tracks_text({**TRACK, "radius": NAN})), ["track 0: radius"]),
    ("track-point-nan", lambda: flow_prompt(tracks_text({"points": [[NAN, 1]]})), ["track 0: point 0 is not finite"]),
    ("track-point-1e30", lambda: flow_prompt(tracks_text({"points": [[1e30, 1]]})), ["track 0: point 0", "±1,000,000"]),
    ("track-frames-inf", lambda: flow_prompt(tracks_text({**TRACK, "frames": [0, INF]})), ["track 0: frames"]),
    ("guider-strength-nan", lambda: guider_prompt(strength=NAN), ["Residual Blend Guider (IV): 'strength' is NaN"]),
    ("guider-cfg-inf", lambda: guider_prompt(cfg=INF), ["400?cfg", "'cfg' is +infinity"]),
    (
        "sampler-strength-nan",
        lambda: sampler_prompt(strength=NAN),
        ["InteractiveVideo Sampler (IV): 'strength' is NaN"],
    ),
    ("sampler-denoise-nan", lambda: sampler_prompt(denoise=NAN), ["'denoise' is NaN"]),
    (
        "apply-strength-neg-inf",
        lambda: apply_prompt(strength=-INF),
        ["400?strength", "Apply Instructions (IV): 'strength' is -inf"],
    ),
    ("apply-end-nan", lambda: apply_prompt(end_percent=NAN), ["'end_percent' is NaN"]),
    ("paint-threshold-nan", lambda: paint_encode_prompt(threshold=NAN), ["Paint Encode (IV): 'threshold' is NaN"]),
    ("flow-noise-variation-nan", lambda: flow_noise_prompt(variation=NAN), ["Flow Noise (IV): 'variation' is NaN"]),
    # raw errors where a message belongs
    (
        "coordinate-400-digits",
        lambda: flow_prompt('{"tracks": [{"points": [[' + "9" * 400 + ", 1]]}]}"),
        ["track 0: point 0"],
    ),
    (
        "coordinate-5000-digits",
        lambda: flow_prompt('{"tracks": [{"points": [[' + "9" * 5000 + ", 1]]}]}"),
        ["number JSON cannot read"],
    ),
    ("nesting-100000", lambda: flow_prompt("[" * 100_000 + "]" * 100_000), ["nested too deeply"]),
    ("invalid-json", lambda: flow_prompt('{"tracks": [{"points": [[1, 2]'), ["not valid JSON"]),
    (
        "frames-decreasing",
        lambda: flow_prompt(tracks_text({"points": [[1, 1], [2, 2], [3, 3]], "frames": [0, 5, 3]})),
        ["strictly increasing"],
    ),
    ("mask-without-masks", lambda: flow_prompt(tracks_text({**TRACK, "mask": 0})), ["track 0: uses mask 0"]),
    ("tracks-a-number", lambda: flow_prompt("5"), ["tracks must be a JSON object or list"]),
    (
        "paint-not-an-image",
        lambda: flow_prompt(paint="interactivevideo/iv-not-an-image.png"),
        ["paint layer 'iv-not-an-image.png' is not an image"],
    ),
    ("paint-bomb", lambda: flow_prompt(paint="interactivevideo/iv-bomb.png"), ["'iv-bomb.png' is 9000x9000 pixels"]),
    ("paint-traversal", lambda: flow_prompt(paint="../../../../etc/passwd"), ["points outside"]),
    (
        "paint-missing",
        lambda: flow_prompt(paint="interactivevideo/nothing-here.png"),
        ["'interactivevideo/nothing-here.png' not found"],
    ),
    ("paint-without-reference", lambda: flow_prompt(paint="x.png", reference=False), ["no reference image"]),
    (
        "mm-wrong-shapes",
        lambda: motion_prompt("iv-wrong-shapes.safetensors"),
        ["iv-wrong-shapes.safetensors", "has shape (1,)"],
    ),
    (
        "mm-partial-v3",
        lambda: motion_prompt("iv-partial-v3.safetensors"),
        ["iv-partial-v3.safetensors is an incomplete"],
    ),
    (
        "mm-garbage",
        lambda: motion_prompt("iv-garbage.safetensors"),
        ["could not read motion module 'iv-garbage.safetensors'"],
    ),
    ("mm-list-pickle", lambda: motion_prompt("iv-list.ckpt"), ["motion module 'iv-list.ckpt'"]),
    ("mm-lora", lambda: motion_prompt("iv-lora.safetensors"), ["iv-lora.safetensors is not a motion module", "a LoRA"]),
    ("mm-unsafe-pickle", lambda: motion_prompt("iv-unsafe.ckpt"), ["'iv-unsafe.ckpt' was refused", "system"]),
    # unknown choices
    (
        "mm-unknown-file",
        lambda: motion_prompt("bogus.safetensors"),
        ["400?motion_module", "'motion_module' is 'bogus.safetensors'"],
    ),
    (
        "interpolation-bogus",
        lambda: flow_prompt(interpolation="bogus"),
        ["400?interpolation", "'interpolation' is 'bogus', not one of its choices", "smooth"],
    ),
    (
        "sampler-name-bogus",
        lambda: sampler_prompt(sampler_name="bogus"),
        ["400?sampler_name", "'sampler_name' is 'bogus'", "euler"],
    ),
    ("scheduler-bogus", lambda: sampler_prompt(scheduler="bogus"), ["400?scheduler", "'scheduler' is 'bogus'"]),
    ("sampler-mode-bogus", lambda: sampler_prompt(mode="bogus"), ["400?mode", "'mode' is 'bogus'", "dual"]),
    ("guider-mode-bogus", lambda: guider_prompt(mode="bogus"), ["400?mode", "'mode' is 'bogus'", "residual"]),
    ("guider-curve-bogus", lambda: guider_prompt(curve="bogus"), ["400?curve", "'curve' is 'bogus'", "cosine"]),
    (  # refused before anything runs (a full motion module takes ~20 s to load)
        "animatediff-model-as-motion-module-400",
        lambda: animatediff_prompt(motion_module=["m1", 0]),
        ["400", "motion_module", "MODEL"],
    ),
    (
        "align-affinity-bogus",
        lambda: align_prompt(affinity="bogus"),
        ["400?affinity", "Image Align (IV): 'affinity' is 'bogus'"],
    ),
    (
        "align-free-motion-bogus",
        lambda: align_prompt(free_motion="loose"),
        ["400?free_motion", "Image Align (IV): 'free_motion' is 'loose'"],
    ),
    ("apply-moved-without-flow", lambda: apply_prompt(moved=["m6", 0]), ["'moved'", "no flow is connected"]),
    (
        "pia-affinity-bogus",
        lambda: align_prompt("IV_PIAConditioning", affinity="bogus"),
        ["400?affinity", "PIA Conditioning (IV): 'affinity'"],
    ),
    (
        "align-custom-affinity-text",
        lambda: align_prompt(affinity="custom", custom_affinity="a, b"),
        ["custom affinity must be numbers"],
    ),
    ("align-custom-affinity-nan", lambda: align_prompt(affinity="custom", custom_affinity="nan, inf"), ["[0, 1]"]),
    # unbounded work
    (
        "tracks-text-1.5MB",
        lambda: flow_prompt(tracks_text(TRACK) + " " * 1_500_000),
        ["'tracks' holds 1,5", "1,000,000"],
    ),
    ("tracks-2049", lambda: flow_prompt(tracks_text(*[TRACK] * 2049)), ["2,049 tracks, more than the 2,048"]),
    ("points-20000", lambda: flow_prompt(tracks_text({"points": [[1, 1]] * 20000})), ["track 0: 20,000 points"]),
    (
        "flow-too-large",
        lambda: flow_prompt(frames=4096, width=8192, height=8192, reference=True),
        ["needs about", "reduce the frames"],
    ),
    # ComfyUI's own validation (HTTP 400), kept working: ranges and types it checks before running
    ("falloff-below-min-400", lambda: flow_prompt(falloff=-1.0), ["400", "falloff"]),
    ("width-above-max-400", lambda: flow_prompt(width=9000), ["400", "width"]),
    ("frames-zero-400", lambda: flow_prompt(frames=0), ["400", "frames"]),
    ("falloff-not-a-number-400", lambda: flow_prompt(falloff="wide"), ["400", "falloff"]),
]

BARE = re.compile(r"^\s*([A-Za-z_.]*(Error|Exception)|list index|'[^']*'$|\d+$)")


def submit(server: ComfyServer, prompt: dict, timeout: float = 300.0) -> tuple[str, str]:
    """("refused", ComfyUI's validation answer) or ("error", the node type and exception message) or ("success", "").

    ComfyUI refuses inputs it validates itself (ranges, types, choices) before anything runs: with HTTP 400 when no
    output of the prompt is left valid, or, when one is (the Edit Canvas is an output node), with 200 and
    ``node_errors`` naming the refused node and input (the page outlines that node in red) while the valid part
    runs. Both are the refusal a user sees."""
    try:
        reply = server.post_json("/prompt", {"prompt": prompt, "client_id": server.client_id})
    except ServerError as e:
        return ("refused", str(e)) if " -> 400: " in str(e) else ("other", str(e))
    outcome = finished(server, reply["prompt_id"], timeout)
    if reply.get("node_errors"):
        assert outcome[0] == "success", outcome  # what was left valid still runs
        return "refused", json.dumps(reply["node_errors"])
    return outcome


def finished(server: ComfyServer, prompt_id: str, timeout: float) -> tuple[str, str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        entry = server.get_json(f"/history/{prompt_id}").get(prompt_id)
        status = (entry or {}).get("status", {})
        if status.get("status_str") == "success":
            return "success", ""
        if status.get("status_str") == "error":
            for kind, data in status.get("messages", []):
                if kind == "execution_error":
                    return "error", data["exception_message"]
            return "error", json.dumps(status)
        if not server.alive():
            raise AssertionError(f"the server died:\n{server.log_tail()}")
        time.sleep(0.1)
    raise AssertionError(f"no answer within {timeout:.0f}s")


def valid_output(server: ComfyServer, spaces: int) -> np.ndarray:
    # A different text each time (spaces only) so that ComfyUI recomputes instead of serving its cache.
    prompt = flow_prompt(json.dumps({"version": 1, "tracks": [TRACK]}) + " " * spaces)
    history = server.run(prompt, timeout=120)
    return np.stack([np.asarray(Image.open(io.BytesIO(b))) for b in server.outputs(history, "5")])


@pytest.fixture(scope="module")
def first_output(srv):
    return valid_output(srv, 0)


def test_the_catalogue_reaches_every_node_the_server_lists(srv):
    """Every node of the pack that the running server lists is in some case's prompt: a node added without
    bad-input cases fails this (the nodes come from the server, not from this file)."""
    ours = {name for name in srv.object_info() if name.startswith("IV_")}
    reached = {node["class_type"] for _, make, _ in CASES for node in make().values()}
    assert ours and sorted(ours - reached) == []
    assert len({c[0] for c in CASES}) == len(CASES)  # each case's name says which one failed


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_a_bad_input_gets_a_clear_answer_and_the_server_lives(srv, first_output, case):
    name, make, words = case
    either = words[0].startswith("400?")  # ComfyUI may refuse it itself (±infinity, unknown choices): fine
    start = time.monotonic()
    kind, message = submit(srv, make())
    elapsed = time.monotonic() - start
    print(f"{name}: {kind} in {elapsed:.2f}s: {message[:300]}")
    if words[0] == "400":
        assert kind == "refused", (kind, message)
        assert all(w in message for w in words[1:]), message
    elif either and kind == "refused":
        # Newer ComfyUI refuses values beyond min/max and unknown combo values itself, naming the input.
        refused = ("bigger than max", "smaller than min", "value_not_in_list")
        assert words[0][4:] in message and any(r in message for r in refused), message
    else:
        words = words[1:] if either else words
        assert kind == "error", (kind, message)
        assert all(w in message for w in words), message
        assert not BARE.match(message) and len(message) > 30, message
    assert srv.alive()
    assert srv.get_json("/system_stats", timeout=10)


def test_a_valid_prompt_still_succeeds_with_the_same_output(srv, first_output):
    again = valid_output(srv, 1)
    assert again.shape == first_output.shape and (again == first_output).all()
    try:
        srv.get_json("/system_stats")
    except urllib.error.URLError as e:  # pragma: no cover
        raise AssertionError(f"server unreachable: {e}") from e
