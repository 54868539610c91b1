"""The instructions on ComfyUI's native Wan models (5-D latents [B, C, T, h, w], flow-matching schedules), through
stock samplers, against analytic priors: every role lands in every latent frame per the causal frame mapping, across
Wan 2.2's two-stage (high/low noise) split too; the schedule is in σ whatever the shift; the region clock keeps the
region on the noised moved reference until its release; Paint Encode, Image Align and Flow Noise read a Wan VAE's
and latent's layout; core Wan conditioning nodes' outputs carry the edits."""

import os
from dataclasses import replace

import comfy.sample
import comfy.samplers
import comfy.sd
import comfy.utils
import pytest
import torch

import nodes
from comfyui_interactivevideo.core.blend import DEFAULT_SCHEDULE, FREE_MOTION_TOLERANCE
from comfyui_interactivevideo.core.noise import flow_noise
from comfyui_interactivevideo.devkit import scenes, wan
from comfyui_interactivevideo.devkit.priors import analytic, gaussian

# Each role alone (each reads the causal frame mapping its own way: codes, max of weights, mean affinity) and all.
ROLES = [{"paint"}, {"drag"}, {"align"}, {"paint", "drag", "align"}]
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


def traced(model, sc, steps: int = 20):
    """Stock sampling (Euler, simple, cfg 1) from seed 0's noise: (the state before each step, each step's
    prediction, both in model space, and the output)."""
    states, predictions = [], []
    positive, negative = conds()
    latent = torch.zeros_like(sc.video)

    def seen(step, x0, x, total):
        states.append(x.clone())
        predictions.append(x0.clone())

    noise = comfy.sample.prepare_noise(latent, 0)
    out = comfy.sample.sample(
        model, noise, steps, 1.0, "euler", "simple", positive, negative, latent, callback=seen, disable_pbar=True
    )
    return states, predictions, out


# ---- every role, every latent frame -------------------------------------------------------------------------


@pytest.mark.parametrize("roles", ROLES, ids=ID)
def test_each_role_lands_in_every_latent_frame_wan21(run_node, wan16, roles):
    """Strength 1 to the end: Euler's last step lands on the instructed prediction, so the output is what the user
    asked for, latent frame by latent frame. (Under this prior steps, cfg and conditioning change nothing: one run
    per role; the composition of roles is tested in tests/core/test_instructions.py.)"""
    sc = scenes.video_scene(16)
    model = analytic(wan16, model_space(wan16, sc.video))
    out = ksampler(patched(run_node, model, sc.instructions(roles)), sc, 4)
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
    inside = sc.dragged.bool().unsqueeze(0).unsqueeze(0)
    target = sc.expected({"drag"})
    along, across = scenes.change_made(split, plain, target, inside)
    assert 0.95 <= along <= 1.05 and across <= 0.05, (along, across)
    high_only = scenes.change_made(two_stage(high, prior, sc), plain, target, inside)
    assert high_only[0] < along - 0.1, high_only


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
        along, across = scenes.change_made(out[0, :, k], plain[0, :, k], target[0, :, k], inside)
        assert 0.95 <= along <= 1.05 and across <= 0.05, (k, along, across)
        # Controls: twice the change, and landing on the image where it was (not moved), fail the bounds.
        twice = scenes.change_made(2 * out[0, :, k] - plain[0, :, k], plain[0, :, k], target[0, :, k], inside)
        assert twice[0] > 1.05, twice
        if k > 0:
            unmoved = scenes.change_made(sc.codes[min(k, 2)], plain[0, :, k], target[0, :, k], inside)
            assert unmoved[1] > 0.05, unmoved


def test_the_schedule_is_in_sigma_whatever_the_shift(run_node, wan16):
    """end_percent 0.8 stops at σ = 0.2 under shift 1, 5 and 8 alike; through the node, end_percent 0.6 under shift 5
    acts at exactly the 18 of 20 steps with σ ≥ 0.4. Control: ComfyUI's own percent (timesteps before the shift,
    σ = s·t / (1 + (s − 1)·t)) puts σ 0.2 at 1 − 0.2 / (s − (s − 1)·0.2) = 0.952 under shift 5 and ends 0.6 at
    σ 0.769, where most of the picture is still noise: 13 steps would act."""
    from comfyui_interactivevideo.nodes.comfy_internals.sampling import sigma_progress, sigma_to_percent

    for shift in (1.0, 5.0, 8.0):
        ms = shifted(wan16, shift).get_model_object("model_sampling")
        assert sigma_progress(ms, 0.2) == pytest.approx(0.8)
        assert sigma_progress(ms, 1.0) == pytest.approx(0.0)
    ms = shifted(wan16, 5.0).get_model_object("model_sampling")
    assert sigma_to_percent(ms, 0.2) == pytest.approx(1 - 0.2 / (5 - 4 * 0.2), abs=1e-4)
    assert float(ms.percent_to_sigma(0.6)) == pytest.approx(5 * 0.4 / (1 + 4 * 0.4), abs=1e-4)

    sc = scenes.video_scene(16)
    model = analytic(wan16, model_space(wan16, sc.video))  # wan16: shift 5
    sigmas = [float(s) for s in comfy.samplers.calculate_sigmas(ms, "simple", 20)[:-1]]
    instructed = patched(run_node, model, sc.instructions({"paint"}), {**SCHEDULE, "end_percent": 0.6})
    _, predictions, _ = traced(instructed, sc)
    own = model_space(wan16, sc.video)
    acted = [not torch.allclose(x0, own, atol=1e-4) for x0 in predictions]
    assert acted == [s >= 0.4 for s in sigmas] and sum(acted) == 18
    assert sum(s >= 5 * 0.4 / (1 + 4 * 0.4) for s in sigmas) == 13


# ---- region clock -----------------------------------------------------------------------------------------------


def test_region_clock_holds_the_region_until_its_release_and_the_background_until_its_end(run_node, wan16):
    """Time-to-Move's dual clock through stock sampling at Wan's shift 5, release 0.5, background end 0.25: until the
    release, inside the dragged and painted region x = (1 − σ)·T + σ·ε at every step with the run's own noise ε,
    although the model predicts something else; the background (alignment) acts only until its end; the last three
    steps are released, so the region ends as the model's own. Controls: a clock that never releases ends on the
    target inside the region; the residual at strength 0.5 leaves the noised reference."""
    sc = scenes.video_scene(16)
    roles = {"paint", "drag", "align"}
    model = analytic(wan16, model_space(wan16, sc.video))
    steps, release, end = 20, 0.5, 0.25
    sigmas = comfy.samplers.calculate_sigmas(model.get_model_object("model_sampling"), "simple", steps)
    progress = [1.0 - float(s) for s in sigmas[:-1]]  # step i acts at sigmas[i]; a flow model's σ_max is 1
    assert sum(p > release for p in progress) == 3 and sum(p <= end for p in progress) == 13
    noise = comfy.sample.prepare_noise(torch.zeros_like(sc.video), 0)  # the run's own ε (traced's)
    target = model_space(wan16, sc.expected(roles))  # inside the region: the moved, painted image
    inside = sc.dragged.bool().unsqueeze(0).unsqueeze(0).expand_as(sc.video)

    def clock(release_percent):
        schedule = {**SCHEDULE, "end_percent": end}
        return patched(
            run_node, model, sc.instructions(roles), schedule, steering="region clock", release_percent=release_percent
        )

    states, predictions, out = traced(clock(release), sc)
    pinned = 0
    for i, x in enumerate(states):  # the state at sigmas[i], made by step i − 1
        s = float(sigmas[i])
        reference = (1 - s) * target + s * noise
        if i == 0 or progress[i - 1] <= release:
            torch.testing.assert_close(x[inside], reference[inside], atol=1e-4, rtol=0)
            pinned += 1
        else:
            assert float((x - reference)[inside].abs().amax()) > 1e-2
    assert pinned == 18
    # Each step's prediction: region and background pulled, then the region only, then the model's own.
    for p, x0 in zip(progress, predictions, strict=True):
        acting = roles if p <= end else {"paint", "drag"} if p <= release else set()
        expected = sc.expected(acting) if acting else sc.video
        torch.testing.assert_close(x0, model_space(wan16, expected), atol=1e-4, rtol=0)
    torch.testing.assert_close(out[inside], sc.video[inside], atol=2e-4, rtol=0)
    _, _, never = traced(clock(1.0), sc)
    torch.testing.assert_close(never[inside], sc.expected(roles)[inside], atol=2e-4, rtol=0)
    assert float((never - sc.video)[inside].abs().amax()) > 1.0
    residual = patched(run_node, model, sc.instructions(roles), {**SCHEDULE, "strength": 0.5})
    x = traced(residual, sc)[0][10]
    reference = (1 - float(sigmas[10])) * target + float(sigmas[10]) * noise
    assert float((x - reference)[inside].abs().amax()) > 0.1


def test_a_drag_lands_on_the_moved_videos_latent_when_given(run_node, wan16):
    """Apply Instructions' 'moved' (the motion preview through the VAE, [1, C, T, h, w]): strength 1 to the end, the
    dragged region of every latent frame ends on it; elsewhere the model's video. Control: without it the region
    ends on the image moved in the latent (> 1 away)."""
    sc = scenes.video_scene(16)
    model = analytic(wan16, model_space(wan16, sc.video))
    moved = 2 * torch.randn(sc.video.shape, generator=torch.Generator().manual_seed(4))
    out = ksampler(patched(run_node, model, sc.instructions({"drag"}) | {"moved": {"samples": moved}}), sc, 4)
    inside = sc.dragged.bool().unsqueeze(0).unsqueeze(0).expand_as(sc.video)
    torch.testing.assert_close(out[inside], moved[inside], atol=2e-4, rtol=0)
    torch.testing.assert_close(out[~inside], sc.video[~inside], atol=2e-4, rtol=0)
    plain = ksampler(patched(run_node, model, sc.instructions({"drag"})), sc, 4)
    assert float((plain - moved)[inside].abs().mean()) > 1.0


# ---- free motion: an alignment that lets the model move what no instruction placed ------------------------------


def keep(align):
    return replace(align, tolerance=FREE_MOTION_TOLERANCE)


def test_free_motion_keep_releases_what_the_model_moves_and_holds_the_drags_sweep(run_node, wan16):
    """Drag + Image Align at strength 1 to the end, under a model whose every prediction is unrelated to the image.
    'keep' holds the drag's whole sweep (the dragged disk at every frame, the place it leaves included) exactly as
    'hold' does, and lets go everywhere else, so the model's own video shows there. Control: 'hold' pulls the same
    cells to the image (> 1 away from the model's video)."""
    plain = scenes.video_scene(16)
    sc = replace(plain, video=4 * plain.video)  # far from the image in every cell (model-space distance ~15)
    model = analytic(wan16, model_space(wan16, sc.video))
    held = patched(run_node, model, sc.instructions({"drag", "align"}))
    instructions = sc.instructions({"drag", "align"}) | {"align": keep(sc.align())}
    kept = ksampler(patched(run_node, model, instructions), sc, 4)
    sweep = sc.dragged.amax(0).bool().expand_as(sc.video)
    assert 20 < int(sweep[0, 0, 0].sum()) < 16 * 16 // 2
    expected = sc.expected({"drag", "align"})
    close = dict(atol=1e-5 * float(sc.video.abs().amax()) + 2e-4, rtol=0)  # values up to ~30 here
    torch.testing.assert_close(kept[sweep], expected[sweep], **close)
    torch.testing.assert_close(kept[~sweep], sc.video[~sweep], **close)
    held_out = ksampler(held, sc, 4)
    torch.testing.assert_close(held_out, expected, **close)
    assert float((held_out - sc.video)[~sweep].abs().amax()) > 1.0


def test_free_motion_keep_lets_a_free_object_move_and_still_ties_the_background(run_node, wan16):
    """Image Align alone, a model that agrees with the image but for a slight drift everywhere (model-space distance
    ~1e-3) and a free object (a disk of other content) moving 2 cells a latent frame. 'keep': the object moves as the model moves it (within
    1e-3 of the model's video in its cells), and the background is tied to the image as under 'hold' (within 5 % of
    the drift). Control: 'hold' freezes the object (its cells pulled > 1 toward the image)."""
    sc = scenes.video_scene(16)
    gen = torch.Generator().manual_seed(5)
    still = torch.stack([sc.codes[min(k, 2)] for k in range(sc.video.shape[2])], dim=1).unsqueeze(0)
    video = still + 0.05 * torch.randn(still.shape, generator=gen)  # [1, C, T, h, w]
    content = 8 * torch.randn(16, 1, 1, generator=gen)  # another content: model-space distance ~15
    moving = torch.stack([scenes.disk(12, 3 + 2 * k, r=1.5) for k in range(video.shape[2])])  # [T, h, w]
    video = video + moving * (content.unsqueeze(1) - video)
    model = analytic(wan16, model_space(wan16, video))
    align = {"align": sc.align()}
    held = ksampler(patched(run_node, model, align), sc, 4)
    kept = ksampler(patched(run_node, model, {"align": keep(sc.align())}), sc, 4)
    # Cells where the object is at some frame but the image, at that frame, does not have it.
    moved = (moving.bool() & ~moving[:1].bool()).expand_as(video)
    background = ~moving.amax(0).bool().expand_as(video)
    torch.testing.assert_close(kept[moved], video[moved], atol=1e-3, rtol=0)
    assert float((held - video)[moved].abs().mean()) > 1.0
    drift = float((video - still)[background].abs().mean())
    assert float((kept - held)[background].abs().mean()) < 0.05 * drift
    assert float((held - still)[background].abs().mean()) < 0.7 * drift  # the alignment acts there at all


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
    # The same three codes (one code for every latent frame, as a per-image encode gives, differs: checked above),
    # and PIA's 'animation M' statistics per pixel frame from the condition frame (tests/data/pia_affinity.json).
    torch.testing.assert_close(align.image, still.float(), atol=1e-4, rtol=0)
    assert align.affinity.tolist() == pytest.approx([1.0, 0.8, 0.8, 0.8, 0.79, 0.78] + [0.75] * 7)
    with pytest.raises(ValueError, match="PIA is an SD1.5 model"):
        run_node("IV_PIAConditioning", positive=conds()[0], negative=conds()[1], **image_inputs)


def test_flow_noise_maps_pixel_frames_to_latent_frames(run_node):
    """The scene's motion is whole cells per latent frame (k·STEP cells: the ±4 px jitter averages out over each
    group of 4 pixel frames), so latent frame k's noise is frame 0's moved by k·STEP cells, sample for sample, where
    its source lies inside the frame. Control: resampling the pixel frames linearly in time (frames 0, 4, 8, 12,
    what the pack did before) picks jittered, half-cell motion, whose noise is not frame 0's moved."""
    sc = scenes.video_scene(16)
    latent = {"samples": torch.zeros_like(sc.video)}
    noise = run_node("IV_FlowNoise", noise_seed=5, flow=sc.flow(), variation=0.0).result[0].generate_noise(latent)

    def carried(n: torch.Tensor) -> bool:
        for k in range(1, n.shape[2]):
            rows, cols = slice(scenes.STEP[0] * k, None), slice(scenes.STEP[1] * k, None)
            moved = scenes.shift(n[0, :, 0], k)
            if not torch.equal(n[0, :, k, rows, cols], moved[:, rows, cols]):
                return False
        return True

    assert noise.shape == sc.video.shape and carried(noise)
    picks = sc.flow().flow[torch.linspace(0, 12, 4).long()]
    assert not carried(flow_noise(tuple(sc.video.shape), picks, 5))
    from comfyui_interactivevideo.core.flow import Flow

    short = Flow(sc.flow().flow[:10], sc.flow().weight[:10])
    with pytest.raises(ValueError, match="give 13 frames"):
        run_node("IV_FlowNoise", noise_seed=5, flow=short, variation=0.0).result[0].generate_noise(latent)


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
    at the middle of pixel frames 4k−3 … 4k. Only on ComfyUI with core TRACKS; under the version matrix's newer
    ComfyUI (IV_COMFYUI set) a missing type fails instead of skipping."""
    from comfy_api.latest import io

    if not hasattr(io, "Tracks"):
        assert not os.environ.get("IV_COMFYUI"), "the newer ComfyUI of the version matrix should have core TRACKS"
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
    video's 13 frames. The prior predicts the image channels it receives (c_concat after the 4 mask channels), so the
    conditioning node's start-image latent is the model's video: the output is that latent everywhere, with the
    painted image's codes moved per the causal mapping inside the moved paint and the dragged disk. Control: the
    model alone leaves the start image's codes there."""
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
    start = out[0][0][1]["concat_latent_image"]  # raw, [1, 16, 4, 16, 16]: the start image, then grey frames
    sc = scenes.video_scene(16)  # its flow: 13 frames of 128 px, whole cells per latent frame; its dragged disk
    model = analytic(wan16, lambda c_concat: c_concat[:, 4:])
    plain = nodes.KSampler().sample(model, 0, 4, 3.0, "euler", "simple", out[0], out[1], out[2])[0]["samples"]
    torch.testing.assert_close(plain, start, atol=2e-4, rtol=0)
    instructed = patched(run_node, model, {"paint": paint, "flow": sc.flow()})
    result = nodes.KSampler().sample(instructed, 0, 4, 3.0, "euler", "simple", out[0], out[1], out[2])[0]["samples"]
    edited = scenes.VideoScene(start, paint.original, paint.painted, paint.region[0, 0], sc.dragged, sc.affinity)
    expected = edited.expected({"paint", "drag"})
    torch.testing.assert_close(result, expected, atol=2e-4, rtol=0)
    assert float((plain - expected).abs().amax()) > 0.5
