"""The shipped workflows, declared as data and built by scripts/build_workflows.py through the real frontend.

Node titles are part of the contract: scripts/demo.py and the e2e tests find nodes of the API prompts by them.
The groups of nodes they share are in devkit/workflow_parts.py.
"""

from __future__ import annotations

from . import workflow_notes as notes
from .workflow_builder import Group, Node, Workflow
from .workflow_parts import (
    BLUE,
    CHECKPOINT,
    FRAMES,
    GREEN,
    GREY,
    ORANGE,
    PIA,
    PURPLE,
    SIZE,
    V3,
    animatediff_nodes,
    canvas_node,
    checkpoint_node,
    content_nodes,
    custom_sampling_nodes,
    edit_nodes,
    image_input_nodes,
    motion_prompt_node,
    negative_prompt_node,
    pia_nodes,
    size_and_length_nodes,
    video_out_nodes,
)

SAMPLING = "Sampling steered by your edits, then the video"
NOTE_W, NOTE_H = 440, 560


def note_node(text: str) -> Node:
    return Node("note", "MarkdownNote", "Read me", 0, {"text": text}, width=NOTE_W, height=NOTE_H)


def keys(nodes: list[Node]) -> list[str]:
    return [n.key for n in nodes]


def full_pipeline() -> Workflow:
    """Text → intermediate image → paint (re-rendered by the content step) and drag → PIA video, Eq. 4 (dual).
    The canvas is an output node: run alone, it makes only the image (the note says how)."""
    ckpt = checkpoint_node(1)
    neg, neg_link = negative_prompt_node(2)
    sizes = size_and_length_nodes(1, SIZE, SIZE, FRAMES)
    nodes = [
        note_node(notes.full_pipeline(CHECKPOINT, PIA)),
        ckpt,
        *sizes,
        Node("size", "EmptyLatentImage", "Image size", 1, {"width": SIZE, "height": SIZE, "batch_size": 1}),
        Node(
            "pos",
            "CLIPTextEncode",
            "Image prompt",
            2,
            {"text": "a red fox in a snowy forest clearing, photo, detailed"},
        ),
        neg,
        Node(
            "t2i",
            "KSampler",
            "Intermediate image sampler",
            3,
            {"seed": 1, "control_after_generate": "fixed", "steps": 25, "cfg": 7.5},
        ),
        Node("decode", "VAEDecode", "Decode intermediate image", 3),
    ]
    links = [
        ("width", 0, "size", "width"),
        ("height", 0, "size", "height"),
        ("ckpt", "MODEL", "t2i", "model"),
        ("ckpt", "CLIP", "pos", "clip"),
        neg_link,
        ("pos", 0, "t2i", "positive"),
        ("neg", 0, "t2i", "negative"),
        ("size", 0, "t2i", "latent_image"),
        ("t2i", 0, "decode", "samples"),
        ("ckpt", "VAE", "decode", "vae"),
    ]
    e_nodes, e_links = edit_nodes(4, "decode")
    c_nodes, c_links = content_nodes(7, "decode")
    a_nodes, a_links = animatediff_nodes(10, PIA)
    motion_prompt, mp_link = motion_prompt_node(10, "the fox trots forward, snow falling, camera still, smooth motion")
    p_nodes, p_links = pia_nodes(10, "decode", paint=True)
    guider = Node("guider", "IV_ResidualBlendGuider", "Instructions guider (Eq. 4)", 11, {"cfg": 7.5, "mode": "dual"})
    g_links = [
        ("animated", 0, "guider", "model"),
        ("pia", "positive", "guider", "positive"),
        ("pia", "negative", "guider", "negative"),
        ("paint", "paint", "guider", "edit"),
        ("flow", "flow", "guider", "flow"),
    ]
    s_nodes, s_links = custom_sampling_nodes(11, "guider", ("pia", "latent"))
    nodes += e_nodes + c_nodes + a_nodes + [motion_prompt] + p_nodes + [guider] + s_nodes
    links += e_links + c_links + a_links + [mp_link] + p_links + g_links + s_links
    groups = [
        Group(
            "1. Intermediate image: text to image",
            ["note", "ckpt", *keys(sizes), "size", "pos", "neg", "t2i", "decode"],
            BLUE,
        ),
        Group("2. Your edits: drag and paint", keys(e_nodes), GREEN),
        Group("3. Content step: your paint re-rendered", keys(c_nodes), GREEN),
        Group("4. Video model: PIA", ["motion", "animated", "motion_prompt", "pia"], PURPLE),
        Group(f"5. {SAMPLING}", ["guider", *keys(s_nodes)], ORANGE),
    ]
    return Workflow("interactivevideo_full_pipeline", nodes, links, groups)


def photo_nodes() -> tuple[list[Node], list[tuple]]:
    """Group 1 of the photo workflows: the note, your image resized, Width/Height/Frames, the checkpoint and the
    negative prompt (used by the content step and the video)."""
    i_nodes, i_links = image_input_nodes(2)
    neg, neg_link = negative_prompt_node(1)
    nodes = [*size_and_length_nodes(1, SIZE, SIZE, FRAMES), *i_nodes, checkpoint_node(2), neg]
    return nodes, [*i_links, neg_link]


def animate_image() -> Workflow:
    """Your photo → drag tracks → PIA video along them: a drag on its own, no paint needed (Apply Instructions on
    the MODEL line, core CFGGuider, flow noise)."""
    g_nodes, links = photo_nodes()
    nodes = [note_node(notes.animate_image(CHECKPOINT, PIA)), *g_nodes]
    e_nodes, e_links = edit_nodes(3, "resize")
    image_latent = Node("image_latent", "VAEEncode", "Image latent", 4)
    a_nodes, a_links = animatediff_nodes(6, PIA)
    motion_prompt, mp_link = motion_prompt_node(7, "smooth natural motion along the drag, camera still")
    p_nodes, p_links = pia_nodes(7, "resize", paint=False)
    instructed = [
        Node("instructions", "IV_ApplyInstructions", "Apply instructions", 8),
        Node("guider", "CFGGuider", "Guider", 8, {"cfg": 7.5}),
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
    s_nodes, s_links = custom_sampling_nodes(8, "guider", ("pia", "latent"))
    nodes += e_nodes + [image_latent] + a_nodes + [motion_prompt] + p_nodes + instructed + s_nodes
    links += e_links + a_links + [mp_link] + p_links + i_links + s_links
    groups = [
        Group("1. Your image, size and length, checkpoint", ["note", *keys(g_nodes)], BLUE),
        Group("2. Drag: tracks on your image", [*keys(e_nodes), "image_latent"], GREEN),
        Group("3. Video model: PIA", ["motion", "animated", "motion_prompt", "pia"], PURPLE),
        Group(f"4. {SAMPLING}", ["instructions", "guider", *keys(s_nodes)], ORANGE),
    ]
    return Workflow("interactivevideo_animate_image", nodes, links, groups)


def paint_edit_clip() -> Workflow:
    """Your photo → paint (re-rendered by the content step) → AnimateDiff v3 clip showing the paint, every frame
    aligned to the edited photo: Apply Instructions on the MODEL line of a stock KSampler."""
    g_nodes, links = photo_nodes()
    canvas, frames_link = canvas_node(3)
    nodes = [note_node(notes.paint_edit_clip(CHECKPOINT, V3)), *g_nodes, canvas]
    links += [("resize", 0, "canvas", "reference"), frames_link]
    c_nodes, c_links = content_nodes(4, "resize")
    a_nodes, a_links = animatediff_nodes(7, V3)
    motion_prompt, mp_link = motion_prompt_node(7, "gentle motion, leaves swaying, camera still")
    rest = [
        Node("align", "IV_ImageAlign", "Image alignment", 8, {"frames": FRAMES}),
        Node(
            "video_latent",
            "EmptyLatentImage",
            "Video size and frames",
            8,
            {"width": SIZE, "height": SIZE, "batch_size": FRAMES},
        ),
        Node("instructions", "IV_ApplyInstructions", "Apply instructions", 9),
        Node(
            "sample",
            "KSampler",
            "Sample video",
            9,
            {"seed": 7, "control_after_generate": "fixed", "steps": 25, "cfg": 7.5, "scheduler": "sgm_uniform"},
        ),
    ]
    r_links = [
        ("ckpt", "VAE", "align", "vae"),
        ("resize", 0, "align", "image"),
        ("frames", 0, "align", "frames"),
        ("width", 0, "video_latent", "width"),
        ("height", 0, "video_latent", "height"),
        ("frames", 0, "video_latent", "batch_size"),
        ("animated", 0, "instructions", "model"),
        ("paint", "paint", "instructions", "paint"),
        ("align", "align", "instructions", "align"),
        ("instructions", 0, "sample", "model"),
        ("motion_prompt", 0, "sample", "positive"),
        ("neg", 0, "sample", "negative"),
        ("video_latent", 0, "sample", "latent_image"),
    ]
    o_nodes, o_links = video_out_nodes(10, "sample")
    nodes += c_nodes + a_nodes + [motion_prompt] + rest + o_nodes
    links += c_links + a_links + [mp_link] + r_links + o_links
    groups = [
        Group("1. Your image, size and length, checkpoint", ["note", *keys(g_nodes)], BLUE),
        Group("2. Paint, then the content step", ["canvas", *keys(c_nodes)], GREEN),
        Group(
            "3. Video model: AnimateDiff v3", ["motion", "animated", "motion_prompt", "align", "video_latent"], PURPLE
        ),
        Group(f"4. {SAMPLING}", ["instructions", "sample", *keys(o_nodes)], ORANGE),
    ]
    return Workflow("interactivevideo_paint_edit_clip", nodes, links, groups)


# Wan 2.2 I2V A14B, two-stage (ComfyUI's own Wan 2.2 image-to-video template layout).
WAN_HIGH = "wan2.2_i2v_high_noise_14B_fp8_scaled.safetensors"
WAN_LOW = "wan2.2_i2v_low_noise_14B_fp8_scaled.safetensors"
WAN_TEXT_ENCODER = "umt5_xxl_fp8_e4m3fn_scaled.safetensors"
WAN_VAE = "wan_2.1_vae.safetensors"
WAN_WIDTH, WAN_HEIGHT, WAN_FRAMES, WAN_STEPS = 832, 480, 81, 20  # 81 pixel frames = 21 latent frames (1 + 4k)
# ComfyUI's Wan templates' negative prompt (Wan was trained with it).
WAN_NEGATIVE = (
    "色调艳丽，过曝，静态，细节模糊不清，字幕，风格，作品，画作，画面，静止，整体发灰，最差质量，低质量，JPEG压缩残留，丑陋的，"
    "残缺的，多余的手指，画得不好的手部，画得不好的脸部，畸形的，毁容的，形态畸形的肢体，手指融合，静止不动的画面，杂乱的背景，"
    "三条腿，背景人很多，倒着走"
)
# Under shift 8 a 20-step schedule's last σ is 0.30: end_percent 0.8 (σ 0.2) would instruct every step and end the
# video on a blend of model and target; 0.6 (σ 0.4) leaves the last step to the model and keeps 0.78 of a drag under
# the Gaussian prior, as SD1.5's default keeps 0.77 (docs/method.md; tests/comfy/test_wan_defaults.py).
WAN_SHIFT, WAN_END_PERCENT = 8.0, 0.6


def wan_model_nodes(col: int) -> tuple[list[Node], list[tuple]]:
    """The two Wan 2.2 experts, each shifted as in ComfyUI's template, the text encoder and the video VAE."""
    nodes, links = [], []
    for stage, file in (("high", WAN_HIGH), ("low", WAN_LOW)):
        nodes += [
            Node(f"unet_{stage}", "UNETLoader", f"Load Wan 2.2 {stage} noise", col, {"unet_name": file}, width=460),
            Node(f"shift_{stage}", "ModelSamplingSD3", f"Shift ({stage} noise)", col, {"shift": WAN_SHIFT}),
        ]
        links.append((f"unet_{stage}", 0, f"shift_{stage}", "model"))
    nodes += [
        Node("clip", "CLIPLoader", "Load text encoder", col, {"clip_name": WAN_TEXT_ENCODER, "type": "wan"}, width=460),
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
            Node(
                apply,
                "IV_ApplyInstructions",
                f"Apply instructions ({stage} noise)",
                col,
                {"end_percent": WAN_END_PERCENT},
            ),
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
            ("moved", 0, apply, "moved"),
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
    sizes = size_and_length_nodes(1, WAN_WIDTH, WAN_HEIGHT, WAN_FRAMES)
    i_nodes, i_links = image_input_nodes(2)
    nodes = [note_node(notes.wan_drag_and_paint(WAN_HIGH, WAN_LOW, WAN_TEXT_ENCODER, WAN_VAE)), *sizes, *i_nodes]
    links = list(i_links)
    m_nodes, m_links = wan_model_nodes(3)
    e_nodes, e_links = edit_nodes(4, "resize", preview_fps=16.0)
    edits = [
        Node("paint", "IV_PaintEncode", "Paint to edit", 5),
        # free_motion 'keep': with `moved` wired, the drag still lands (docs/benchmarks.md, 'moved') and what nobody
        # dragged keeps the motion the model gives it instead of PIA's freeze ('hold').
        Node("align", "IV_ImageAlign", "Image alignment", 5, {"frames": WAN_FRAMES, "free_motion": "keep"}),
        # The drag's target as the VAE encodes the moved image: a latent frame holds 4 pixel frames, and only the
        # encoder keeps the motion within them, so the dragged thing reaches the track's end on the last frame.
        Node("moved", "VAEEncode", "Encode motion preview", 5),
    ]
    ed_links = [
        ("preview", 0, "moved", "pixels"),
        ("vae", 0, "moved", "vae"),
        ("vae", 0, "paint", "vae"),
        ("resize", 0, "paint", "original"),
        ("canvas", "painted", "paint", "painted"),
        ("canvas", "paint_mask", "paint", "mask"),
        ("vae", 0, "align", "vae"),
        ("resize", 0, "align", "image"),
        ("frames", 0, "align", "frames"),
    ]
    conditioning = [
        Node(
            "motion_prompt",
            "CLIPTextEncode",
            "Motion prompt",
            7,
            {"text": "the scene comes alive with smooth natural motion along the drag, camera still"},
        ),
        Node("neg", "CLIPTextEncode", "Negative prompt", 7, {"text": WAN_NEGATIVE}),
        Node(
            "i2v",
            "WanImageToVideo",
            "Wan image to video",
            7,
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
        ("width", 0, "i2v", "width"),
        ("height", 0, "i2v", "height"),
        ("frames", 0, "i2v", "length"),
    ]
    s_nodes, s_links = wan_sampling_nodes(8)
    o_nodes, o_links = video_out_nodes(10, "sample_low", ("vae", 0), fps=16.0, prefix="interactivevideo/wan_video")
    nodes += m_nodes + e_nodes + edits + conditioning + s_nodes + o_nodes
    links += m_links + e_links + ed_links + c_links + s_links + o_links
    groups = [
        Group("1. Your image, size and length", ["note", *keys(i_nodes), *keys(sizes)], BLUE),
        Group("2. Wan 2.2 models", keys(m_nodes), GREY),
        Group("3. Your edits: drag and paint", [*keys(e_nodes), "paint", "align", "moved"], GREEN),
        Group("4. Wan conditioning", ["motion_prompt", "neg", "i2v"], PURPLE),
        Group(f"5. {SAMPLING}", [*keys(s_nodes), *keys(o_nodes)], ORANGE),
    ]
    return Workflow("interactivevideo_wan_drag_and_paint", nodes, links, groups)


WORKFLOWS: list[Workflow] = [full_pipeline(), animate_image(), paint_edit_clip(), wan_drag_and_paint()]
