"""Building blocks of the shipped workflows (devkit/workflow_specs.py): titled nodes and their links, group by
group (size and length, the edit canvas, the content step, AnimateDiff/PIA, sampling, the video out).

The canvas ships without tracks or paint: a user's first picture gets no drag from another image."""

from __future__ import annotations

from .workflow_builder import Node

CHECKPOINT = "v1-5-pruned-emaonly.safetensors"
PIA = "pia.ckpt"
V3 = "v3_sd15_mm.ckpt"
SIZE, FRAMES = 512, 16
SAMPLE_IMAGE = "example.png"  # ComfyUI's own sample in input/


BLUE, GREEN, PURPLE, ORANGE, GREY = "#3f789e", "#3f7e54", "#6b4fa0", "#a1662f", "#444444"


NEGATIVE = "blurry, low quality, watermark, text"


def negative_prompt_node(col: int) -> tuple[Node, tuple]:
    return Node("neg", "CLIPTextEncode", "Negative prompt", col, {"text": NEGATIVE}), ("ckpt", "CLIP", "neg", "clip")


def size_and_length_nodes(col: int, width: int, height: int, frames: int) -> list[Node]:
    """The one place of a workflow's size and clip length: Int nodes linked to every widget that needs them."""
    return [
        Node(key, "PrimitiveInt", title, col, {"value": value, "control_after_generate": "fixed"})
        for key, title, value in (("width", "Width", width), ("height", "Height", height), ("frames", "Frames", frames))
    ]


def checkpoint_node(col: int) -> Node:
    return Node("ckpt", "CheckpointLoaderSimple", "Load SD1.5 checkpoint", col, {"ckpt_name": CHECKPOINT}, width=400)


def canvas_node(col: int) -> tuple[Node, tuple]:
    """The edit canvas, its clip length from the workflow's Frames node."""
    node = Node("canvas", "IV_TrajectoryEditor", "Edit canvas", col, {"frames": FRAMES}, width=460, height=600)
    return node, ("frames", 0, "canvas", "frames")


def edit_nodes(col: int, ref: str, preview_fps: float = 8.0) -> tuple[list[Node], list[tuple]]:
    """The edit canvas, its flow and the instant motion preview (reference image from node ``ref``)."""
    canvas, frames_link = canvas_node(col)
    nodes = [
        canvas,
        Node("flow", "IV_TrajectoryToFlow", "Tracks to flow", col + 1),
        Node("preview", "IV_MotionPreview", "Motion preview", col + 1),
        Node(
            "save_preview",
            "SaveAnimatedWEBP",
            "Save motion preview",
            col + 2,
            {"filename_prefix": "interactivevideo/motion_preview", "fps": preview_fps},
        ),
        Node("save_flow", "SaveImage", "Save flow colours", col + 2, {"filename_prefix": "interactivevideo/flow"}),
    ]
    links = [
        (ref, 0, "canvas", "reference"),
        frames_link,
        ("canvas", "tracks", "flow", "tracks"),
        (ref, 0, "flow", "size_from_image"),
        (ref, 0, "preview", "image"),
        ("flow", "flow", "preview", "flow"),
        ("preview", 0, "save_preview", "images"),
        ("flow", "flow_colors", "save_flow", "images"),
    ]
    return nodes, links


def content_nodes(col: int, image: str) -> tuple[list[Node], list[tuple]]:
    """The paper's content instruction: the painted image re-rendered by the T2I model (img2img at moderate denoise,
    only around the paint) with a content prompt, so a crude stroke becomes an object before the video stage; then
    the paint instruction from it. With nothing painted the re-render changes nothing (its noise mask is empty)."""
    nodes = [
        Node(
            "content_prompt",
            "CLIPTextEncode",
            "Content prompt",
            col,
            {"text": "a bright yellow sun with glowing rays, detailed"},
        ),
        Node("paint_area", "GrowMask", "Paint area", col, {"expand": 16, "tapered_corners": True}),
        Node("painted_latent", "VAEEncode", "Encode painted image", col),
        Node("content_mask", "SetLatentNoiseMask", "Re-render only the paint", col),
        Node(
            "content",
            "KSampler",
            "Content re-render",
            col + 1,
            {"seed": 3, "control_after_generate": "fixed", "steps": 20, "cfg": 7.0, "denoise": 0.55},
        ),
        Node("content_decode", "VAEDecode", "Content image", col + 1),
        Node("content_preview", "PreviewImage", "Content preview", col + 1, height=300),
        Node("paint", "IV_PaintEncode", "Paint to edit", col + 2),
    ]
    links = [
        ("ckpt", "CLIP", "content_prompt", "clip"),
        ("canvas", "paint_mask", "paint_area", "mask"),
        ("canvas", "painted", "painted_latent", "pixels"),
        ("ckpt", "VAE", "painted_latent", "vae"),
        ("painted_latent", 0, "content_mask", "samples"),
        ("paint_area", 0, "content_mask", "mask"),
        ("ckpt", "MODEL", "content", "model"),
        ("content_prompt", 0, "content", "positive"),
        ("neg", 0, "content", "negative"),
        ("content_mask", 0, "content", "latent_image"),
        ("content", 0, "content_decode", "samples"),
        ("ckpt", "VAE", "content_decode", "vae"),
        ("content_decode", 0, "content_preview", "images"),
        ("ckpt", "VAE", "paint", "vae"),
        (image, 0, "paint", "original"),
        ("content_decode", 0, "paint", "painted"),
        ("canvas", "paint_mask", "paint", "mask"),
    ]
    return nodes, links


def motion_prompt_node(col: int, text: str) -> tuple[Node, tuple]:
    """The paper's motion instruction: a prompt for the video model, apart from the image's prompt."""
    return Node("motion_prompt", "CLIPTextEncode", "Motion prompt", col, {"text": text}), (
        "ckpt",
        "CLIP",
        "motion_prompt",
        "clip",
    )


def video_out_nodes(
    col: int,
    samples: str,
    vae: tuple[str, str | int] = ("ckpt", "VAE"),
    fps: float = 8.0,
    prefix: str = "interactivevideo/video",
) -> tuple[list[Node], list[tuple]]:
    """Decode the sampled latent of node ``samples`` with the VAE output ``vae`` (node key, output) and save it."""
    nodes = [
        Node("decode_video", "VAEDecode", "Decode video", col),
        Node("video", "CreateVideo", "Create video", col + 1, {"fps": fps}),
        Node("save_video", "SaveVideo", "Save video", col + 1, {"filename_prefix": prefix}),
    ]
    links = [
        (samples, 0, "decode_video", "samples"),
        (*vae, "decode_video", "vae"),
        ("decode_video", 0, "video", "images"),
        ("video", 0, "save_video", "video"),
    ]
    return nodes, links


def custom_sampling_nodes(col: int, guider: str, latent: tuple[str, str | int]) -> tuple[list[Node], list[tuple]]:
    """SamplerCustomAdvanced with flow noise (Eq. 3) and the given guider, then the video."""
    nodes = [
        Node("noise", "IV_FlowNoise", "Flow noise", col, {"noise_seed": 7, "control_after_generate": "fixed"}),
        Node("sampler", "KSamplerSelect", "Sampler", col, {"sampler_name": "euler"}),
        Node("sigmas", "BasicScheduler", "Schedule", col, {"scheduler": "sgm_uniform", "steps": 25}),
        Node("sample", "SamplerCustomAdvanced", "Sample video", col + 1),
    ]
    links = [
        ("flow", "flow", "noise", "flow"),
        ("animated", 0, "sigmas", "model"),
        ("noise", 0, "sample", "noise"),
        (guider, 0, "sample", "guider"),
        ("sampler", 0, "sample", "sampler"),
        ("sigmas", 0, "sample", "sigmas"),
        (*latent, "sample", "latent_image"),
    ]
    out_nodes, out_links = video_out_nodes(col + 1, "sample")
    return nodes + out_nodes, links + out_links


def animatediff_nodes(col: int, module: str) -> tuple[list[Node], list[tuple]]:
    nodes = [
        Node("motion", "IV_LoadMotionModule", "Load motion module", col, {"motion_module": module}),
        Node("animated", "IV_ApplyAnimateDiff", "Apply AnimateDiff", col),
    ]
    links = [("ckpt", "MODEL", "animated", "model"), ("motion", "motion_module", "animated", "motion_module")]
    return nodes, links


def pia_nodes(col: int, image: str, paint: bool) -> tuple[list[Node], list[tuple]]:
    """PIA conditioning on the motion prompt; with ``paint`` its image channels show the painted image."""
    nodes = [Node("pia", "IV_PIAConditioning", "PIA conditioning", col, {"frames": FRAMES})]
    links = [
        ("frames", 0, "pia", "frames"),
        ("motion_prompt", 0, "pia", "positive"),
        ("neg", 0, "pia", "negative"),
        ("ckpt", "VAE", "pia", "vae"),
        (image, 0, "pia", "image"),
    ]
    if paint:
        links.append(("paint", "paint", "pia", "paint"))
    return nodes, links


def image_input_nodes(col: int) -> tuple[list[Node], list[tuple]]:
    """Your image, scaled and centre-cropped to the workflow's Width × Height (the canvas shows the result at once)."""
    nodes = [
        Node("photo", "LoadImage", "Your image", col, {"image": SAMPLE_IMAGE}, height=360),
        Node(
            "resize",
            "ImageScale",
            "Resize",
            col,
            {"upscale_method": "lanczos", "width": SIZE, "height": SIZE, "crop": "center"},
        ),
    ]
    links = [("photo", 0, "resize", "image"), ("width", 0, "resize", "width"), ("height", 0, "resize", "height")]
    return nodes, links
