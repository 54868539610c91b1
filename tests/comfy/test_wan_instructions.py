"""The instructions on ComfyUI's native Wan models (5-D latents [B, C, T, h, w], flow-matching schedules), through
stock samplers, against analytic priors: every role lands in every latent frame per the causal frame mapping, for
20- and 4-step schedules and across Wan 2.2's two-stage (high/low noise) split; the region clock keeps the region
on the noised moved reference step by step; Paint Encode and Flow Noise read a Wan VAE's and latent's layout."""

import comfy.sample
import comfy.samplers
import comfy.sd
import comfy.utils
import pytest
import torch

import nodes
from comfyui_interactivevideo.core.blend import DEFAULT_SCHEDULE
from comfyui_interactivevideo.core.frames import FrameMapping
from comfyui_interactivevideo.core.noise import flow_noise
from comfyui_interactivevideo.devkit import scenes, wan
from comfyui_interactivevideo.devkit.priors import analytic, gaussian

ROLES = [{"paint"}, {"drag"}, {"align"}, {"paint", "align"}, {"drag", "align"}, {"paint", "drag", "align"}]
ID = "+".join
SCHEDULE = {"strength": 1.0, "start_percent": 0.0, "end_percent": 1.0, "curve": "constant"}
DEFAULTS = {
    "strength": DEFAULT_SCHEDULE.strength,
    "start_percent": DEFAULT_SCHEDULE.start,
    "end_percent": DEFAULT_SCHEDULE.end,
    "curve": DEFAULT_SCHEDULE.curve,
}


@pytest.fixture(scope="module")
def wan16(pack):
    """Wan 2.1 / 2.2 I2V layout (16 channels, /8), at the shift of Wan 2.1 I2V workflows."""
    return shifted(wan.build_wan("i2v", seed=0), 5.0)


@pytest.fixture(scope="module")
def wan48(pack):
    """Wan 2.2 TI2V 5B layout (48 channels, /16)."""
    return shifted(wan.build_wan("ti2v_5b", seed=0), 8.0)


def shifted(model, shift: float):
    return nodes.NODE_CLASS_MAPPINGS["ModelSamplingSD3"]().patch(model, shift)[0]


def conds(concat: torch.Tensor | None = None):
    """Positive and negative text conditioning (the umt5 stand-in), with WanImageToVideo's image keys if given."""
    extra = (
        {} if concat is None else {"concat_latent_image": concat, "concat_mask": torch.ones(1, 1, *concat.shape[2:])}
    )
    return [[wan.text_conditioning("a cat")[0][0], dict(extra)]], [[wan.text_conditioning("")[0][0], dict(extra)]]


def patched(run_node, model, instructions: dict, schedule: dict = SCHEDULE, **steering):
    return run_node("IV_ApplyInstructions", model=model, **schedule, **instructions, **steering).result[0]


def ksampler(model, sc, steps: int, cfg: float = 1.0, concat: bool = False, seed: int = 0):
    positive, negative = conds(torch.zeros(1, sc.video.shape[1], *sc.video.shape[2:]) if concat else None)
    latent = {"samples": torch.zeros_like(sc.video)}
    return nodes.KSampler().sample(model, seed, steps, cfg, "euler", "simple", positive, negative, latent)[0]["samples"]


def two_stage(high, low, sc, steps: int = 20, split: int = 10, cfg: float = 1.0):
    """Wan 2.2's two samplers: the high-noise model for steps [0, split) leaving its noise, the low-noise model for
    the rest (KSamplerAdvanced, as ComfyUI's Wan 2.2 template wires them)."""
    positive, negative = conds()
    advanced = nodes.KSamplerAdvanced()
    latent = {"samples": torch.zeros_like(sc.video)}
    mid = advanced.sample(
        high, "enable", 0, steps, cfg, "euler", "simple", positive, negative, latent, 0, split, "enable"
    )[0]
    return advanced.sample(
        low, "disable", 0, steps, cfg, "euler", "simple", positive, negative, mid, split, steps, "disable"
    )[0]["samples"]


def model_space(model, raw: torch.Tensor) -> torch.Tensor:
    return model.model.process_latent_in(raw)


# ---- every role, every latent frame -------------------------------------------------------------------------


@pytest.mark.parametrize("steps", [20, 4], ids=["20-step", "4-step"])
@pytest.mark.parametrize("roles", ROLES, ids=ID)
def test_each_role_lands_in_every_latent_frame_wan21(run_node, wan16, roles, steps):
    """Strength 1 to the end: Euler's last step lands on the instructed prediction, so the output is what the user
    asked for, latent frame by latent frame (WanImageToVideo's image keys in the conditioning)."""
    sc = scenes.video_scene(16)
    model = analytic(wan16, model_space(wan16, sc.video))
    out = ksampler(patched(run_node, model, sc.instructions(roles)), sc, steps, cfg=3.0, concat=True)
    torch.testing.assert_close(out, sc.expected(roles), atol=2e-4, rtol=0)


@pytest.mark.parametrize("roles", [{"paint", "drag", "align"}, {"drag"}], ids=ID)
def test_each_role_lands_in_every_latent_frame_wan22_ti2v(run_node, wan48, roles):
    sc = scenes.video_scene(48, scale=16)
    model = analytic(wan48, model_space(wan48, sc.video))
    out = ksampler(patched(run_node, model, sc.instructions(roles)), sc, 4)
    torch.testing.assert_close(out, sc.expected(roles), atol=2e-4, rtol=0)


def test_control_without_the_instructions_the_video_is_the_models(run_node, wan16):
    sc = scenes.video_scene(16)
    model = analytic(wan16, model_space(wan16, sc.video))
    out = ksampler(model, sc, 4)
    torch.testing.assert_close(out, sc.video, atol=2e-4, rtol=0)
    assert float((out - sc.expected({"paint", "drag", "align"})).abs().amax()) > 1.0


# ---- two stages ---------------------------------------------------------------------------------------------


def test_two_stage_split_lands_like_one_run(run_node, wan16):
    """High- and low-noise models each patched with the same instructions: the split run is the one-run result
    (the schedule is in σ, so each stage acts at the same noise levels), for the analytic prior at strength 1 and
    for the Gaussian prior at the defaults. Control: instructions on the high-noise model only (the low-noise stage
    'erases' them, as TTM users report) keep visibly less."""
    sc = scenes.video_scene(16)
    roles = {"paint", "drag", "align"}
    exact = analytic(wan16, model_space(wan16, sc.video))
    high, low = (
        patched(run_node, exact, sc.instructions(roles)),
        patched(run_node, exact.clone(), sc.instructions(roles)),
    )
    torch.testing.assert_close(two_stage(high, low, sc), sc.expected(roles), atol=2e-4, rtol=0)

    prior = gaussian(wan16, model_space(wan16, sc.video))
    plain = ksampler(prior, sc, 20)
    one = ksampler(patched(run_node, prior, sc.instructions({"drag"}), DEFAULTS), sc, 20)
    high = patched(run_node, prior, sc.instructions({"drag"}), DEFAULTS)
    low = patched(run_node, prior.clone(), sc.instructions({"drag"}), DEFAULTS)
    split = two_stage(high, low, sc)
    torch.testing.assert_close(split, one, atol=1e-4, rtol=0)
    inside = sc.dragged.bool().unsqueeze(0).unsqueeze(0).expand_as(sc.video)
    target = sc.expected({"drag"})

    def kept(out):
        return float((out - plain)[inside].norm() / (target - plain)[inside].norm())

    assert kept(split) >= 0.95
    high_only = two_stage(high, prior, sc)
    assert kept(high_only) < kept(split) - 0.1


# ---- few steps ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("shift", [1.0, 5.0, 8.0])
def test_four_step_sampling_keeps_the_drag_at_the_defaults(run_node, wan16, shift):
    """4-step distilled-style sampling (cfg 1) with the default schedule, Gaussian prior whose later steps keep
    what earlier steps did: the drag is kept in every latent frame (measured 1.00 at shifts 1, 5, 8, since the
    schedule is in σ and a 4-step schedule's last σ is above 0.2 whatever the shift)."""
    sc = scenes.video_scene(16)
    model = shifted(wan16, shift)
    prior = gaussian(model, model_space(model, sc.video))
    plain = ksampler(prior, sc, 4)
    out = ksampler(patched(run_node, prior, sc.instructions({"drag"}), DEFAULTS), sc, 4)
    target = sc.expected({"drag"})
    for k in range(sc.video.shape[2]):
        inside = sc.dragged[k].bool()
        kept = (out - plain)[0, :, k][:, inside].norm() / (target - plain)[0, :, k][:, inside].norm()
        assert float(kept) >= 0.95, (k, float(kept))


def test_the_schedule_is_in_sigma_whatever_the_shift(run_node, wan16):
    """end_percent 0.8 stops at σ = 0.2 under shift 1, 5 and 8 alike. Control: ComfyUI's own percent (timesteps
    before the shift) would stop at σ ≈ 0.56 under shift 5, where most of the picture is still noise."""
    from comfyui_interactivevideo.nodes.comfy_internals.sampling import sigma_progress, sigma_to_percent

    for shift in (1.0, 5.0, 8.0):
        ms = shifted(wan16, shift).get_model_object("model_sampling")
        assert sigma_progress(ms, 0.2) == pytest.approx(0.8)
        assert sigma_progress(ms, 1.0) == pytest.approx(0.0)
    ms = shifted(wan16, 5.0).get_model_object("model_sampling")
    assert float(ms.percent_to_sigma(0.8)) == pytest.approx(5 * 0.2 / (1 + 4 * 0.2), abs=1e-4)
    assert sigma_to_percent(ms, 0.2) < 0.96


# ---- region clock -----------------------------------------------------------------------------------------------


def test_region_clock_holds_the_region_on_the_noised_moved_reference(run_node, wan16):
    """Time-to-Move's dual clock through stock sampling: until release_percent, inside the dragged and painted
    region x = (1 − σ)·T + σ·ε at every step with the run's own noise ε, although the model predicts something
    else; the background (alignment) only until end_percent; after the release the model takes over. Control:
    the residual at strength 0.5 leaves the noised reference."""
    sc = scenes.video_scene(16)
    roles = {"paint", "drag", "align"}
    model = analytic(wan16, model_space(wan16, sc.video))
    steps = 20
    sigmas = comfy.samplers.calculate_sigmas(model.get_model_object("model_sampling"), "simple", steps)
    latent = torch.zeros_like(sc.video)
    noise = comfy.sample.prepare_noise(latent, 0)
    target = model_space(wan16, sc.expected(roles))  # inside the region: the moved, painted image
    inside = sc.dragged.bool().unsqueeze(0).unsqueeze(0).expand_as(sc.video)

    def states(m):
        seen = []
        positive, negative = conds()
        comfy.sample.sample(
            m,
            noise,
            steps,
            1.0,
            "euler",
            "simple",
            positive,
            negative,
            latent,
            callback=lambda step, x0, x, total: seen.append(x.clone()),
        )
        return seen

    schedule = {**SCHEDULE, "end_percent": 0.5}
    clock = patched(run_node, model, sc.instructions(roles), schedule, steering="region clock", release_percent=0.9)
    seen = states(clock)
    checked = 0
    for i, x in enumerate(seen):  # the sampler's state at sigmas[i], made by step i − 1
        s = float(sigmas[i])
        reference = (1 - s) * target + s * noise
        if i == 0 or 1 - float(sigmas[i - 1]) <= 0.9:
            torch.testing.assert_close(x[inside], reference[inside], atol=1e-4, rtol=0)
            checked += 1
        else:
            assert float((x - reference)[inside].abs().amax()) > 1e-2
    assert checked >= 15
    residual = patched(run_node, model, sc.instructions(roles), {**SCHEDULE, "strength": 0.5})
    x = states(residual)[10]
    reference = (1 - float(sigmas[10])) * target + float(sigmas[10]) * noise
    assert float((x - reference)[inside].abs().amax()) > 0.1


# ---- the nodes read a Wan VAE's and latent's layout -------------------------------------------------------------


@pytest.fixture(scope="module")
def wan_vae(pack):
    return comfy.sd.VAE(sd=comfy.utils.load_torch_file(str(wan.wan_vae_file())))


def painted_with_wan_vae(run_node, vae, size: int, box: slice, colour: list[float], seed: int):
    """A random image with a square painted on it, and Paint Encode (IV) of it with the Wan VAE."""
    image = torch.rand(1, size, size, 3, generator=torch.Generator().manual_seed(seed))
    painted = image.clone()
    painted[:, box, box] = torch.tensor(colour)
    paint = run_node(
        "IV_PaintEncode", vae=vae, original=image, painted=painted, threshold=0.04, grow=0, feather=0
    ).result[0]
    return image, paint


def test_paint_encode_with_the_wan_vae_holds_the_stills_three_codes(run_node, wan_vae):
    original, paint = painted_with_wan_vae(run_node, wan_vae, 64, slice(16, 40), [1.0, 0.0, 0.0], seed=0)
    assert paint.original.shape == (3, 16, 8, 8) and paint.painted.shape == (3, 16, 8, 8)
    still = wan_vae.encode(original.expand(9, -1, -1, -1))[0].transpose(0, 1)
    torch.testing.assert_close(paint.original, still.float(), atol=1e-4, rtol=0)
    assert float((paint.original[1] - paint.original[0]).abs().amax()) > 0.1  # the codes differ
    assert paint.region.shape == (1, 1, 8, 8) and float(paint.region[0, 0, 3, 3]) == 1.0
    image_inputs = dict(
        vae=wan_vae, image=original, frames=13, condition_frame=0, affinity="animation M", custom_affinity=""
    )
    align = run_node("IV_ImageAlign", **image_inputs).result[0]
    assert align.image.shape == (3, 16, 8, 8) and align.affinity.shape == (13,)
    with pytest.raises(ValueError, match="PIA is an SD1.5 model"):
        run_node("IV_PIAConditioning", positive=conds()[0], negative=conds()[1], **image_inputs)


def test_flow_noise_maps_pixel_frames_to_latent_frames(run_node):
    sc = scenes.video_scene(16)
    noise = run_node("IV_FlowNoise", noise_seed=5, flow=sc.flow(), variation=0.0).result[0]
    got = noise.generate_noise({"samples": torch.zeros_like(sc.video)})
    motion = FrameMapping(4).to_latent(sc.flow().flow, "mean")
    torch.testing.assert_close(got, flow_noise(tuple(sc.video.shape), motion, 5), atol=0, rtol=0)
    # Control: the linear resampling in time the pack used before is another noise.
    picks = sc.flow().flow[torch.linspace(0, 12, 4).long()]
    assert not torch.allclose(got, flow_noise(tuple(sc.video.shape), picks, 5))
    from comfyui_interactivevideo.core.flow import Flow

    short = Flow(sc.flow().flow[:10], sc.flow().weight[:10])
    with pytest.raises(ValueError, match="give 13 frames"):
        run_node("IV_FlowNoise", noise_seed=5, flow=short, variation=0.0).result[0].generate_noise(
            {"samples": torch.zeros_like(sc.video)}
        )


def test_wan22_ti2v_latent_with_its_start_frame_mask(run_node, wan48):
    """Wan22ImageToVideoLatent's layout (the start image encoded into latent frame 0, a noise_mask keeping it):
    frame 0 stays the given image, every later latent frame lands on the instructions."""
    sc = scenes.video_scene(48, scale=16)
    roles = {"paint", "drag", "align"}
    model = analytic(wan48, model_space(wan48, sc.video))
    start = torch.randn(1, 48, 1, *sc.video.shape[-2:], generator=torch.Generator().manual_seed(4))
    samples = torch.zeros_like(sc.video)
    samples[:, :, :1] = start
    mask = torch.ones(1, 1, *sc.video.shape[2:])
    mask[:, :, 0] = 0.0
    positive, negative = conds()
    latent = {"samples": samples, "noise_mask": mask}
    out = nodes.KSampler().sample(
        patched(run_node, model, sc.instructions(roles)), 0, 4, 1.0, "euler", "simple", positive, negative, latent
    )[0]["samples"]
    torch.testing.assert_close(out[:, :, :1], start, atol=2e-4, rtol=0)
    torch.testing.assert_close(out[:, :, 1:], sc.expected(roles)[:, :, 1:], atol=2e-4, rtol=0)


def test_core_tracks_drive_a_wan_drag(run_node, wan16):
    """Tracks from anywhere: core GenerateTracks (81-frame style, here 13 frames) → Trajectory to Flow (IV) → Apply
    Instructions on a Wan latent of 4 latent frames: the dragged blob sits, in latent frame k, where the track is
    at the middle of pixel frames 4k−3 … 4k. Only on ComfyUI with core TRACKS."""
    from comfy_api.latest import io

    if not hasattr(io, "Tracks"):
        pytest.skip("this ComfyUI has no core TRACKS type (older than Wan-Move's nodes)")
    size, frames = 128, 13
    tracks = run_node(
        "GenerateTracks",
        width=size,
        height=size,
        start_x=0.25,
        start_y=0.5,
        mid_x=0.5,
        mid_y=0.5,
        end_x=0.75,
        end_y=0.5,
        num_frames=frames,
        num_tracks=1,
        track_spread=0.0,
        bezier=False,
        interpolation="linear",
    ).result[0]
    flow = run_node(
        "IV_TrajectoryToFlow",
        core_tracks=tracks,
        width=size,
        height=size,
        interpolation="linear",
        falloff=0.5,
        radius=20.0,
    ).result[0]
    blob = scenes.disk(8, 4, r=1.0)  # the cell under the track's start (32, 64) px
    codes = (blob * 4.0).expand(3, 16, 16, 16).clone()
    model = analytic(wan16, model_space(wan16, torch.zeros(1, 16, 4, 16, 16)))
    sc_latent = {"samples": torch.zeros(1, 16, 4, 16, 16)}
    instructed = patched(run_node, model, {"flow": flow, "image": {"samples": codes.transpose(0, 1).unsqueeze(0)}})
    positive, negative = conds()
    out = nodes.KSampler().sample(instructed, 0, 4, 1.0, "euler", "simple", positive, negative, sc_latent)[0]
    xs = torch.arange(16, dtype=torch.float32)
    for k in range(4):
        row = out["samples"][0, 0, k, 8].clamp(min=0)
        centre = float((row * xs).sum() / row.sum())
        middle = 0 if k == 0 else 4 * k - 1.5  # the group's middle pixel frame
        expected = (32 + 64 * middle / (frames - 1)) / 8
        assert abs(centre - expected) < 0.35, (k, centre, expected)


@pytest.fixture(scope="module")
def start_and_paint(run_node, wan_vae):
    """A 128² start image and a paint on it, encoded by Paint Encode (IV) with the real-size Wan VAE."""
    return painted_with_wan_vae(run_node, wan_vae, 128, slice(24, 56), [0.1, 0.9, 0.2], seed=2)


@pytest.mark.parametrize("node", ["WanImageToVideo", "WanFunInpaintToVideo"])
def test_core_wan_conditioning_nodes_with_edits_from_the_wan_vae(run_node, wan16, wan_vae, start_and_paint, node):
    """The whole chain on core nodes' outputs: the conditioning and latent of WanImageToVideo / WanFunInpaintToVideo
    (start image encoded by the real-size Wan VAE), a paint from Paint Encode (IV) with the same VAE, a drag over the
    video's 13 frames: the output shows the painted image's codes moved per the causal mapping."""
    image, paint = start_and_paint
    positive, negative = conds()
    out = run_node(
        node,
        positive=positive,
        negative=negative,
        vae=wan_vae,
        width=128,
        height=128,
        length=13,
        batch_size=1,
        start_image=image,
    ).result
    assert out[2]["samples"].shape == (1, 16, 4, 16, 16)
    sc = scenes.video_scene(16)  # its flow: 13 frames of 128 px, whole cells per latent frame
    model = analytic(wan16, model_space(wan16, sc.video))
    instructed = patched(run_node, model, {"paint": paint, "flow": sc.flow()})
    result = nodes.KSampler().sample(instructed, 0, 4, 3.0, "euler", "simple", out[0], out[1], out[2])[0]["samples"]
    m = paint.region[0, 0] > 0.5
    for k in range(4):
        moved, moved_mask = scenes.shift(paint.painted[min(k, 2)], k), scenes.shift(m.float(), k).bool()
        torch.testing.assert_close(result[0, :, k][:, moved_mask], moved[:, moved_mask], atol=2e-4, rtol=0)
