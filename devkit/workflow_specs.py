"""The shipped workflows, declared as data and built by scripts/build_workflows.py through the real frontend.

Node titles are part of the contract: scripts/demo.py and the e2e tests find nodes of the API prompts by them.
The groups of nodes they share are in devkit/workflow_parts.py.
"""

from __future__ import annotations

from .workflow_builder import Group, Node, Workflow
from .workflow_parts import (
    BLUE,
    CHECKPOINT,
    FRAMES,
    GREEN,
    ORANGE,
    PIA,
    PURPLE,
    SIZE,
    V3,
    animatediff_nodes,
    checkpoint_node,
    content_nodes,
    custom_sampling_nodes,
    edit_nodes,
    image_input_nodes,
    motion_prompt_node,
    pia_nodes,
    prompt_nodes,
    tracks_json,
    video_out_nodes,
)

MODELS_NOTE = (
    "Models for this workflow\n\n"
    f"- models/checkpoints: any SD1.5 checkpoint (here {CHECKPOINT})\n"
    "- models/animatediff_models: the motion module, e.g. pia.ckpt (PIA), v3_sd15_mm.ckpt or mm_sd_v15_v2.ckpt "
    "(AnimateDiff)\n\n"
    "Edit the intermediate image in the Edit Canvas: Tracks mode drags regions along paths (click pins an anchor), "
    "Paint mode paints over it. Queue once to see the intermediate image in the canvas, edit, queue again.\n\n"
    "Content prompt: what your paint should become (the content step re-renders the painted area with it). "
    "Motion prompt: how the video should move (it conditions the video model, apart from the image's prompt)."
)

SAMPLING = "4. Sampling steered by your edits, then the video"


def full_pipeline() -> Workflow:
    """Text → intermediate image → paint (re-rendered by the content step) and drag → PIA video, Eq. 4 (dual)."""
    nodes = [
        checkpoint_node(0),
        Node("size", "EmptyLatentImage", "Image size", 0, {"width": SIZE, "height": SIZE, "batch_size": 1}),
        Node("note", "Note", "Read me", 0, {"text": MODELS_NOTE}, height=260),
        *prompt_nodes(1, "a red fox in a snowy forest clearing, photo, detailed"),
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
    c_nodes, c_links = content_nodes(5, "decode")
    a_nodes, a_links = animatediff_nodes(8, PIA)
    motion_prompt, mp_link = motion_prompt_node(8, "the fox trots forward, snow falling, camera still, smooth motion")
    p_nodes, p_links = pia_nodes(8, "decode", paint=True)
    guider = Node("guider", "IV_ResidualBlendGuider", "Instructions guider (Eq. 4)", 9, {"cfg": 7.5, "mode": "dual"})
    g_links = [
        ("animated", 0, "guider", "model"),
        ("pia", "positive", "guider", "positive"),
        ("pia", "negative", "guider", "negative"),
        ("paint", "paint", "guider", "edit"),
        ("flow", "flow", "guider", "flow"),
    ]
    s_nodes, s_links = custom_sampling_nodes(9, "guider", ("pia", "latent"))
    nodes += e_nodes + c_nodes + a_nodes + [motion_prompt] + p_nodes + [guider] + s_nodes
    links += e_links + c_links + a_links + [mp_link] + p_links + g_links + s_links
    groups = [
        Group("1. Intermediate image: text to image", ["ckpt", "size", "note", "pos", "neg", "t2i", "decode"], BLUE),
        Group(
            "2. Your edits: drag, paint, content step",
            ["canvas", "flow", "preview", "save_preview", "save_flow", *[n.key for n in c_nodes]],
            GREEN,
        ),
        Group("3. Video model: PIA", ["motion", "animated", "motion_prompt", "pia"], PURPLE),
        Group(SAMPLING, ["guider", *[n.key for n in s_nodes]], ORANGE),
    ]
    return Workflow("interactivevideo_full_pipeline", nodes, links, groups)


def animate_image() -> Workflow:
    """Your photo → drag tracks → PIA video along them: a drag on its own, no paint needed (Apply Instructions on
    the MODEL line, core CFGGuider, flow noise)."""
    nodes = [
        *image_input_nodes(),
        checkpoint_node(1),
        *prompt_nodes(1, "a lively scene, photo"),
        Node("note", "Note", "Read me", 1, {"text": MODELS_NOTE}, height=260),
    ]
    links = [("photo", 0, "resize", "image"), ("ckpt", "CLIP", "pos", "clip"), ("ckpt", "CLIP", "neg", "clip")]
    e_nodes, e_links = edit_nodes(2, "resize")
    image_latent = Node("image_latent", "VAEEncode", "Image latent", 3)
    a_nodes, a_links = animatediff_nodes(5, PIA)
    motion_prompt, mp_link = motion_prompt_node(5, "smooth natural motion along the drag, camera still")
    p_nodes, p_links = pia_nodes(5, "resize", paint=False)
    instructed = [
        Node("instructions", "IV_ApplyInstructions", "Apply instructions", 6),
        Node("guider", "CFGGuider", "Guider", 6, {"cfg": 7.5}),
    ]
    i_links = [
        ("resize", 0, "image_latent", "pixels"),
        ("ckpt", "VAE", "image_latent", "vae"),
        ("animated", 0, "instructions", "model"),
        ("flow", "flow", "instructions", "flow"),
        ("image_latent", 0, "instructions", "image"),
        ("instructions", 0, "guider", "model"),
        ("pia", "positive", "guider", "positive"),
        ("pia", "negative", "guider", "negative"),
    ]
    s_nodes, s_links = custom_sampling_nodes(7, "guider", ("pia", "latent"))
    nodes += e_nodes + [image_latent] + a_nodes + [motion_prompt] + p_nodes + instructed + s_nodes
    links += e_links + a_links + [mp_link] + p_links + i_links + s_links
    groups = [
        Group("1. Your image and the models", ["photo", "resize", "ckpt", "pos", "neg", "note"], BLUE),
        Group(
            "2. Drag: tracks on your image",
            ["canvas", "flow", "preview", "save_preview", "save_flow", "image_latent"],
            GREEN,
        ),
        Group("3. Video model: PIA", ["motion", "animated", "motion_prompt", "pia"], PURPLE),
        Group(SAMPLING, ["instructions", "guider", *[n.key for n in s_nodes]], ORANGE),
    ]
    return Workflow("interactivevideo_animate_image", nodes, links, groups)


def paint_edit_clip() -> Workflow:
    """Your photo → paint (re-rendered by the content step) → AnimateDiff v3 clip showing the paint, every frame
    aligned to the edited photo: Apply Instructions on the MODEL line of a stock KSampler."""
    nodes = [
        *image_input_nodes(),
        checkpoint_node(1),
        *prompt_nodes(1, "a calm scene, photo"),
        Node("note", "Note", "Read me", 1, {"text": MODELS_NOTE}, height=260),
        Node("canvas", "IV_TrajectoryEditor", "Edit canvas", 2, {"frames": FRAMES}, width=420, height=560),
    ]
    links = [
        ("photo", 0, "resize", "image"),
        ("ckpt", "CLIP", "pos", "clip"),
        ("ckpt", "CLIP", "neg", "clip"),
        ("resize", 0, "canvas", "reference"),
    ]
    c_nodes, c_links = content_nodes(3, "resize")
    a_nodes, a_links = animatediff_nodes(6, V3)
    motion_prompt, mp_link = motion_prompt_node(6, "gentle motion, leaves swaying, camera still")
    rest = [
        Node("align", "IV_ImageAlign", "Image alignment", 6, {"frames": FRAMES}),
        Node(
            "video_latent",
            "EmptyLatentImage",
            "Video size and frames",
            6,
            {"width": SIZE, "height": SIZE, "batch_size": FRAMES},
        ),
        Node("instructions", "IV_ApplyInstructions", "Apply instructions", 7),
        Node(
            "sample",
            "KSampler",
            "Sample video",
            7,
            {"seed": 7, "control_after_generate": "fixed", "steps": 25, "cfg": 7.5, "scheduler": "sgm_uniform"},
        ),
    ]
    r_links = [
        ("ckpt", "VAE", "align", "vae"),
        ("resize", 0, "align", "image"),
        ("animated", 0, "instructions", "model"),
        ("paint", "paint", "instructions", "paint"),
        ("align", "align", "instructions", "align"),
        ("instructions", 0, "sample", "model"),
        ("motion_prompt", 0, "sample", "positive"),
        ("neg", 0, "sample", "negative"),
        ("video_latent", 0, "sample", "latent_image"),
    ]
    o_nodes, o_links = video_out_nodes(8, "sample")
    nodes += c_nodes + a_nodes + [motion_prompt] + rest + o_nodes
    links += c_links + a_links + [mp_link] + r_links + o_links
    groups = [
        Group("1. Your image and the models", ["photo", "resize", "ckpt", "pos", "neg", "note"], BLUE),
        Group("2. Paint, then the content step", ["canvas", *[n.key for n in c_nodes]], GREEN),
        Group(
            "3. Video model: AnimateDiff v3",
            ["motion", "animated", "motion_prompt", "align", "video_latent"],
            PURPLE,
        ),
        Group(SAMPLING, ["instructions", "sample", *[n.key for n in o_nodes]], ORANGE),
    ]
    return Workflow("interactivevideo_paint_edit_clip", nodes, links, groups)


# Wan 2.2 I2V A14B, two-stage (ComfyUI's own Wan 2.2 image-to-video template layout).
WAN_HIGH = "wan2.2_i2v_high_noise_14B_fp8_scaled.safetensors"
WAN_LOW = "wan2.2_i2v_low_noise_14B_fp8_scaled.safetensors"
WAN_TEXT_ENCODER = "umt5_xxl_fp8_e4m3fn_scaled.safetensors"
WAN_VAE = "wan_2.1_vae.safetensors"
WAN_WIDTH, WAN_HEIGHT, WAN_FRAMES, WAN_STEPS = 832, 480, 81, 20  # 81 pixel frames = 21 latent frames (1 + 4k)
WAN_TRACKS = tracks_json(WAN_WIDTH, WAN_HEIGHT, [[416, 260], [520, 220], [620, 200]], [80, 420])
# ComfyUI's Wan templates' negative prompt (Wan was trained with it).
WAN_NEGATIVE = (
    "色调艳丽，过曝，静态，细节模糊不清，字幕，风格，作品，画作，画面，静止，整体发灰，最差质量，低质量，JPEG压缩残留，丑陋的，"
    "残缺的，多余的手指，画得不好的手部，画得不好的脸部，畸形的，毁容的，形态畸形的肢体，手指融合，静止不动的画面，杂乱的背景，"
    "三条腿，背景人很多，倒着走"
)

WAN_MODELS_NOTE = (
    "Models for this workflow (Wan 2.2 I2V A14B, two stages)\n\n"
    f"- models/diffusion_models: {WAN_HIGH} and {WAN_LOW}\n"
    f"- models/text_encoders: {WAN_TEXT_ENCODER}\n"
    f"- models/vae: {WAN_VAE}\n\n"
    "Other Wan models work too. Wan 2.1 I2V 480p/720p (wan2.1_i2v_480p_14B_fp16.safetensors or the 720p one): one "
    "UNET loader, one Apply Instructions and one sampler over all steps. Wan 2.2 TI2V 5B "
    "(wan2.2_ti2v_5B_fp16.safetensors with wan2.2_vae.safetensors in models/vae): Wan22ImageToVideoLatent instead of "
    "WanImageToVideo, the wan2.2 VAE everywhere (Paint to edit, Image alignment, Decode video).\n\n"
    "Edit your image in the Edit canvas: Tracks mode drags regions along paths (a click pins an anchor), Paint mode "
    "paints over it. Queue once to see the image in the canvas, edit, queue again. Motion prompt: how the video "
    "should move. Both Apply Instructions nodes must carry the same settings (strength, schedule, steering); "
    "steering 'region clock' is Time-to-Move's dual clock (the edited region held until release_percent)."
)


def wan_model_nodes(col: int) -> tuple[list[Node], list[tuple]]:
    """The two Wan 2.2 experts, each shifted as in ComfyUI's template, the text encoder and the video VAE."""
    nodes, links = [], []
    for stage, file in (("high", WAN_HIGH), ("low", WAN_LOW)):
        nodes += [
            Node(f"unet_{stage}", "UNETLoader", f"Load Wan 2.2 {stage} noise", col, {"unet_name": file}),
            Node(f"shift_{stage}", "ModelSamplingSD3", f"Shift ({stage} noise)", col, {"shift": 8.0}),
        ]
        links.append((f"unet_{stage}", 0, f"shift_{stage}", "model"))
    nodes += [
        Node("clip", "CLIPLoader", "Load text encoder", col, {"clip_name": WAN_TEXT_ENCODER, "type": "wan"}),
        Node("vae", "VAELoader", "Load Wan VAE", col, {"vae_name": WAN_VAE}),
    ]
    return nodes, links


def wan_sampling_nodes(col: int) -> tuple[list[Node], list[tuple]]:
    """Apply Instructions on both experts, then the two-stage KSamplerAdvanced split of the template."""
    nodes, links = [], []
    half = WAN_STEPS // 2
    stages = (
        ("high", "enable", 0, half, "enable"),
        ("low", "disable", half, 10000, "disable"),
    )
    for stage, add_noise, start, end, leftover in stages:
        apply, sample = f"instructions_{stage}", f"sample_{stage}"
        nodes += [
            Node(apply, "IV_ApplyInstructions", f"Apply instructions ({stage} noise)", col),
            Node(
                sample,
                "KSamplerAdvanced",
                f"Sample {stage} noise",
                col + 1,
                {
                    "add_noise": add_noise,
                    "noise_seed": 7,
                    "control_after_generate": "fixed",
                    "steps": WAN_STEPS,
                    "cfg": 3.5,
                    "sampler_name": "euler",
                    "scheduler": "simple",
                    "start_at_step": start,
                    "end_at_step": end,
                    "return_with_leftover_noise": leftover,
                },
            ),
        ]
        links += [
            (f"shift_{stage}", 0, apply, "model"),
            ("paint", "paint", apply, "paint"),
            ("flow", "flow", apply, "flow"),
            ("align", "align", apply, "align"),
            (apply, 0, sample, "model"),
            ("i2v", "positive", sample, "positive"),
            ("i2v", "negative", sample, "negative"),
        ]
    links += [("i2v", "latent", "sample_high", "latent_image"), ("sample_high", 0, "sample_low", "latent_image")]
    return nodes, links


def wan_drag_and_paint() -> Workflow:
    """Your image → drag and paint on it → Wan 2.2 I2V A14B (two experts, stock KSamplerAdvanced) with Apply
    Instructions on both MODEL lines: paint, drag and alignment to the edited image, no content re-render (there is
    no image model here)."""
    nodes = [
        *image_input_nodes(WAN_WIDTH, WAN_HEIGHT, "Resize"),
        Node("note", "Note", "Read me", 0, {"text": WAN_MODELS_NOTE}, width=420, height=420),
    ]
    links = [("photo", 0, "resize", "image")]
    m_nodes, m_links = wan_model_nodes(1)
    e_nodes, e_links = edit_nodes(2, "resize", WAN_FRAMES, WAN_TRACKS, preview_fps=16.0)
    edits = [
        Node("paint", "IV_PaintEncode", "Paint to edit", 3),
        Node("align", "IV_ImageAlign", "Image alignment", 3, {"frames": WAN_FRAMES}),
    ]
    ed_links = [
        ("vae", 0, "paint", "vae"),
        ("resize", 0, "paint", "original"),
        ("canvas", "painted", "paint", "painted"),
        ("canvas", "paint_mask", "paint", "mask"),
        ("vae", 0, "align", "vae"),
        ("resize", 0, "align", "image"),
    ]
    conditioning = [
        Node(
            "motion_prompt",
            "CLIPTextEncode",
            "Motion prompt",
            5,
            {"text": "the scene comes alive with smooth natural motion along the drag, camera still"},
        ),
        Node("neg", "CLIPTextEncode", "Negative prompt", 5, {"text": WAN_NEGATIVE}),
        Node(
            "i2v",
            "WanImageToVideo",
            "Wan image to video",
            5,
            {"width": WAN_WIDTH, "height": WAN_HEIGHT, "length": WAN_FRAMES, "batch_size": 1},
        ),
    ]
    c_links = [
        ("clip", 0, "motion_prompt", "clip"),
        ("clip", 0, "neg", "clip"),
        ("motion_prompt", 0, "i2v", "positive"),
        ("neg", 0, "i2v", "negative"),
        ("vae", 0, "i2v", "vae"),
        ("resize", 0, "i2v", "start_image"),
    ]
    s_nodes, s_links = wan_sampling_nodes(6)
    o_nodes, o_links = video_out_nodes(8, "sample_low", ("vae", 0), fps=16.0, prefix="interactivevideo/wan_video")
    nodes += m_nodes + e_nodes + edits + conditioning + s_nodes + o_nodes
    links += m_links + e_links + ed_links + c_links + s_links + o_links
    groups = [
        Group("1. Your image and the Wan models", ["photo", "resize", "note", *[n.key for n in m_nodes]], BLUE),
        Group("2. Your edits: drag and paint", [*[n.key for n in e_nodes], "paint", "align"], GREEN),
        Group("3. Wan conditioning", ["motion_prompt", "neg", "i2v"], PURPLE),
        Group(SAMPLING, [*[n.key for n in s_nodes], *[n.key for n in o_nodes]], ORANGE),
    ]
    return Workflow("interactivevideo_wan_drag_and_paint", nodes, links, groups)


WORKFLOWS: list[Workflow] = [full_pipeline(), animate_image(), paint_edit_clip(), wan_drag_and_paint()]
