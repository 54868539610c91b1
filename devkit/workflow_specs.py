"""The shipped workflows, declared as data and built by scripts/build_workflows.py through the real frontend.

Node titles are part of the contract: scripts/demo.py and the e2e tests find nodes of the API prompts by them.
"""

from __future__ import annotations

import json

from .workflow_builder import Group, Node, Workflow

CHECKPOINT = "v1-5-pruned-emaonly.safetensors"
PIA = "pia.ckpt"
V3 = "v3_sd15_mm.ckpt"
SIZE, FRAMES = 512, 16
SAMPLE_IMAGE = "example.png"  # ComfyUI's own sample in input/

# A default drag so the motion preview shows something the moment the graph runs: the centre region moves right
# and up along a curve, a corner is anchored.
DEFAULT_TRACKS = json.dumps(
    {
        "version": 1,
        "width": SIZE,
        "height": SIZE,
        "tracks": [
            {"points": [[256, 300], [330, 260], [400, 250]], "radius": 56},
            {"points": [[64, 448]], "radius": 48, "anchor": True},
        ],
    }
)

MODELS_NOTE = (
    "Models for this workflow\n\n"
    f"- models/checkpoints: any SD1.5 checkpoint (here {CHECKPOINT})\n"
    "- models/animatediff_models: the motion module, e.g. pia.ckpt (PIA), v3_sd15_mm.ckpt or mm_sd_v15_v2.ckpt "
    "(AnimateDiff)\n\n"
    "Edit the intermediate image in the Edit Canvas: Tracks mode drags regions along paths (click pins an anchor), "
    "Paint mode paints over it. Queue once to see the intermediate image in the canvas, edit, queue again."
)

BLUE, GREEN, PURPLE, ORANGE, GREY = "#3f789e", "#3f7e54", "#6b4fa0", "#a1662f", "#444444"


def prompt_nodes(col: int, text: str) -> list[Node]:
    return [
        Node("pos", "CLIPTextEncode", "Prompt", col, {"text": text}),
        Node("neg", "CLIPTextEncode", "Negative prompt", col, {"text": "blurry, low quality, watermark, text"}),
    ]


def checkpoint_node(col: int) -> Node:
    return Node("ckpt", "CheckpointLoaderSimple", "Load SD1.5 checkpoint", col, {"ckpt_name": CHECKPOINT})


def edit_nodes(col: int, ref: str) -> tuple[list[Node], list[tuple]]:
    """The edit canvas, its flow and the instant motion preview (reference image from node ``ref``)."""
    nodes = [
        Node(
            "canvas",
            "IV_TrajectoryEditor",
            "Edit canvas",
            col,
            {"tracks": DEFAULT_TRACKS, "frames": FRAMES},
            width=420,
            height=560,
        ),
        Node("flow", "IV_TrajectoryToFlow", "Tracks to flow", col + 1),
        Node("preview", "IV_MotionPreview", "Motion preview", col + 1),
        Node(
            "save_preview",
            "SaveAnimatedWEBP",
            "Save motion preview",
            col + 2,
            {"filename_prefix": "interactivevideo/motion_preview", "fps": 8.0},
        ),
        Node("save_flow", "SaveImage", "Save flow colours", col + 2, {"filename_prefix": "interactivevideo/flow"}),
    ]
    links = [
        (ref, 0, "canvas", "reference"),
        ("canvas", "tracks", "flow", "tracks"),
        (ref, 0, "flow", "size_from_image"),
        (ref, 0, "preview", "image"),
        ("flow", "flow", "preview", "flow"),
        ("preview", 0, "save_preview", "images"),
        ("flow", "flow_colors", "save_flow", "images"),
    ]
    return nodes, links


def sampling_nodes(
    col: int, noise: str, latent: tuple[str, str | int], pos: tuple, neg: tuple, edit: bool, flow: bool, align: bool
) -> tuple[list[Node], list[tuple]]:
    """Guided sampling with the residual blend guider, then decode and save the video."""
    nodes = [
        Node("guider", "IV_ResidualBlendGuider", "Residual blend guider", col, {"cfg": 7.5, "strength": 0.5}),
        Node(
            "noise",
            noise,
            "Flow noise" if noise == "IV_FlowNoise" else "Noise",
            col,
            {"noise_seed": 7, "control_after_generate": "fixed"},
        ),
        Node("sampler", "KSamplerSelect", "Sampler", col, {"sampler_name": "euler"}),
        Node("sigmas", "BasicScheduler", "Schedule", col, {"scheduler": "sgm_uniform", "steps": 25}),
        Node("sample", "SamplerCustomAdvanced", "Sample video", col + 1),
        Node("decode_video", "VAEDecode", "Decode video", col + 1),
        Node("video", "CreateVideo", "Create video", col + 2, {"fps": 8.0}),
        Node("save_video", "SaveVideo", "Save video", col + 2, {"filename_prefix": "interactivevideo/video"}),
    ]
    links = [
        ("animated", 0, "guider", "model"),
        (*pos, "guider", "positive"),
        (*neg, "guider", "negative"),
        ("animated", 0, "sigmas", "model"),
        ("noise", 0, "sample", "noise"),
        ("guider", 0, "sample", "guider"),
        ("sampler", 0, "sample", "sampler"),
        ("sigmas", 0, "sample", "sigmas"),
        (*latent, "sample", "latent_image"),
        ("sample", 0, "decode_video", "samples"),
        ("ckpt", "VAE", "decode_video", "vae"),
        ("decode_video", 0, "video", "images"),
        ("video", 0, "save_video", "video"),
    ]
    if edit:
        links.append(("paint", "edit", "guider", "edit"))
    if flow:
        links.append(("flow", "flow", "guider", "flow"))
        links.append(("flow", "flow", "noise", "flow"))
    if align:
        links.append(("align", 0, "guider", "align"))
    return nodes, links


def animatediff_nodes(col: int, module: str) -> tuple[list[Node], list[tuple]]:
    nodes = [
        Node("motion", "IV_LoadMotionModule", "Load motion module", col, {"motion_module": module}),
        Node("animated", "IV_ApplyAnimateDiff", "Apply AnimateDiff", col),
    ]
    links = [("ckpt", "MODEL", "animated", "model"), ("motion", "motion_module", "animated", "motion_module")]
    return nodes, links


def full_pipeline() -> Workflow:
    nodes = [
        checkpoint_node(0),
        Node("size", "EmptyLatentImage", "Image size", 0, {"width": SIZE, "height": SIZE, "batch_size": 1}),
        Node("note", "Note", "Read me", 0, {"text": MODELS_NOTE}, height=260),
        *prompt_nodes(1, "a red fox running through a snowy forest, photo, detailed"),
        Node(
            "t2i",
            "KSampler",
            "Intermediate image sampler",
            2,
            {"seed": 1, "control_after_generate": "fixed", "steps": 25, "cfg": 7.5},
        ),
        Node("decode", "VAEDecode", "Decode intermediate image", 2),
    ]
    links = [
        ("ckpt", "MODEL", "t2i", "model"),
        ("ckpt", "CLIP", "pos", "clip"),
        ("ckpt", "CLIP", "neg", "clip"),
        ("pos", 0, "t2i", "positive"),
        ("neg", 0, "t2i", "negative"),
        ("size", 0, "t2i", "latent_image"),
        ("t2i", 0, "decode", "samples"),
        ("ckpt", "VAE", "decode", "vae"),
    ]
    e_nodes, e_links = edit_nodes(3, "decode")
    nodes += e_nodes + [Node("paint", "IV_PaintEncode", "Paint to edit", 4)]
    links += e_links + [
        ("ckpt", "VAE", "paint", "vae"),
        ("decode", 0, "paint", "original"),
        ("canvas", "painted", "paint", "painted"),
        ("canvas", "paint_mask", "paint", "mask"),
    ]
    a_nodes, a_links = animatediff_nodes(6, PIA)
    nodes += a_nodes + [Node("pia", "IV_PIAConditioning", "PIA conditioning", 6, {"frames": FRAMES})]
    links += a_links + [
        ("pos", 0, "pia", "positive"),
        ("neg", 0, "pia", "negative"),
        ("ckpt", "VAE", "pia", "vae"),
        ("decode", 0, "pia", "image"),
    ]
    s_nodes, s_links = sampling_nodes(
        7,
        "IV_FlowNoise",
        ("pia", "latent"),
        ("pia", "positive"),
        ("pia", "negative"),
        edit=True,
        flow=True,
        align=False,
    )
    nodes += s_nodes
    links += s_links
    groups = [
        Group("1. Intermediate image: text to image", ["ckpt", "size", "note", "pos", "neg", "t2i", "decode"], BLUE),
        Group(
            "2. Your edits: drag and paint on the intermediate image",
            ["canvas", "flow", "preview", "save_preview", "save_flow", "paint"],
            GREEN,
        ),
        Group("3. Video model: PIA", ["motion", "animated", "pia"], PURPLE),
        Group(
            "4. Sampling steered by your edits, then the video",
            ["guider", "noise", "sampler", "sigmas", "sample", "decode_video", "video", "save_video"],
            ORANGE,
        ),
    ]
    return Workflow("interactivevideo_full_pipeline", nodes, links, groups)


def image_input_nodes() -> list[Node]:
    return [
        Node("photo", "LoadImage", "Your image", 0, {"image": SAMPLE_IMAGE}, height=360),
        Node(
            "resize",
            "ImageScale",
            "Resize to 512",
            0,
            {"upscale_method": "lanczos", "width": SIZE, "height": SIZE, "crop": "center"},
        ),
    ]


def animate_image() -> Workflow:
    nodes = [
        *image_input_nodes(),
        checkpoint_node(1),
        *prompt_nodes(1, "a lively scene, smooth motion, photo"),
        Node("note", "Note", "Read me", 1, {"text": MODELS_NOTE}, height=260),
    ]
    links = [("photo", 0, "resize", "image"), ("ckpt", "CLIP", "pos", "clip"), ("ckpt", "CLIP", "neg", "clip")]
    e_nodes, e_links = edit_nodes(2, "resize")
    # The guider's flow moves an image: the unpainted canvas output, encoded (its paint mask is empty).
    nodes += e_nodes + [Node("paint", "IV_PaintEncode", "Image to edit", 3)]
    links += e_links + [
        ("ckpt", "VAE", "paint", "vae"),
        ("resize", 0, "paint", "original"),
        ("canvas", "painted", "paint", "painted"),
        ("canvas", "paint_mask", "paint", "mask"),
    ]
    a_nodes, a_links = animatediff_nodes(5, PIA)
    nodes += a_nodes + [Node("pia", "IV_PIAConditioning", "PIA conditioning", 5, {"frames": FRAMES})]
    links += a_links + [
        ("pos", 0, "pia", "positive"),
        ("neg", 0, "pia", "negative"),
        ("ckpt", "VAE", "pia", "vae"),
        ("resize", 0, "pia", "image"),
    ]
    s_nodes, s_links = sampling_nodes(
        6,
        "IV_FlowNoise",
        ("pia", "latent"),
        ("pia", "positive"),
        ("pia", "negative"),
        edit=True,
        flow=True,
        align=False,
    )
    nodes += s_nodes
    links += s_links
    groups = [
        Group("1. Your image and the models", ["photo", "resize", "ckpt", "pos", "neg", "note"], BLUE),
        Group(
            "2. Drag: tracks on your image", ["canvas", "flow", "preview", "save_preview", "save_flow", "paint"], GREEN
        ),
        Group("3. Video model: PIA", ["motion", "animated", "pia"], PURPLE),
        Group(
            "4. Sampling along your tracks, then the video",
            ["guider", "noise", "sampler", "sigmas", "sample", "decode_video", "video", "save_video"],
            ORANGE,
        ),
    ]
    return Workflow("interactivevideo_animate_image", nodes, links, groups)


def paint_edit_clip() -> Workflow:
    nodes = [
        *image_input_nodes(),
        checkpoint_node(1),
        *prompt_nodes(1, "a calm scene, gentle motion, photo"),
        Node("note", "Note", "Read me", 1, {"text": MODELS_NOTE}, height=260),
        Node("canvas", "IV_TrajectoryEditor", "Edit canvas", 2, {"frames": FRAMES}, width=420, height=560),
        Node("paint", "IV_PaintEncode", "Paint to edit", 3),
        Node("align", "IV_ImageAlign", "Image alignment", 3, {"frames": FRAMES}),
        Node(
            "video_latent",
            "EmptyLatentImage",
            "Video size and frames",
            3,
            {"width": SIZE, "height": SIZE, "batch_size": FRAMES},
        ),
    ]
    links = [
        ("photo", 0, "resize", "image"),
        ("ckpt", "CLIP", "pos", "clip"),
        ("ckpt", "CLIP", "neg", "clip"),
        ("resize", 0, "canvas", "reference"),
        ("ckpt", "VAE", "paint", "vae"),
        ("resize", 0, "paint", "original"),
        ("canvas", "painted", "paint", "painted"),
        ("canvas", "paint_mask", "paint", "mask"),
        ("ckpt", "VAE", "align", "vae"),
        ("resize", 0, "align", "image"),
    ]
    a_nodes, a_links = animatediff_nodes(4, V3)
    nodes += a_nodes
    links += a_links
    s_nodes, s_links = sampling_nodes(
        5, "RandomNoise", ("video_latent", 0), ("pos", 0), ("neg", 0), edit=True, flow=False, align=True
    )
    nodes += s_nodes
    links += s_links
    groups = [
        Group("1. Your image and the models", ["photo", "resize", "ckpt", "pos", "neg", "note"], BLUE),
        Group("2. Paint over your image", ["canvas", "paint", "align", "video_latent"], GREEN),
        Group("3. Video model: AnimateDiff v3", ["motion", "animated"], PURPLE),
        Group(
            "4. Sampling pulled toward your paint and image, then the video",
            ["guider", "noise", "sampler", "sigmas", "sample", "decode_video", "video", "save_video"],
            ORANGE,
        ),
    ]
    return Workflow("interactivevideo_paint_edit_clip", nodes, links, groups)


WORKFLOWS: list[Workflow] = [full_pipeline(), animate_image(), paint_edit_clip()]
