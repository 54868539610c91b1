"""The AnimateDiff nodes in a real ComfyUI: loading the real files' layouts, refusals, injection that leaves the
input MODEL untouched, the beta schedule, context windows over 48 frames, PIA conditioning and image alignment.
"""

import hashlib
from pathlib import Path

import comfy.model_management
import comfy.model_sampling
import comfy.sd
import folder_paths
import pytest
import torch

import nodes
from comfyui_interactivevideo.core.alignment import preset_affinity
from comfyui_interactivevideo.core.blend import FREE_MOTION_TOLERANCE
from comfyui_interactivevideo.core.instructions import Align
from comfyui_interactivevideo.core.motion_module import MotionModule
from comfyui_interactivevideo.core.motion_weights import MotionModuleWeights
from comfyui_interactivevideo.devkit import animatediff as ad
from comfyui_interactivevideo.devkit import comfy_env, sd15


def folder() -> Path:
    return Path(folder_paths.get_folder_paths("animatediff_models")[0])


def test_animatediff_models_folder_is_registered_with_every_extension(pack):
    assert folder().name == "animatediff_models"
    exts = folder_paths.folder_names_and_paths["animatediff_models"][1]
    assert {".safetensors", ".ckpt", ".pt", ".pth"} <= set(exts)


@pytest.mark.slow
@pytest.mark.parametrize(
    "name,suffix,fmt", [("mm_sd_v15_v2", ".safetensors", "v2"), ("v3_sd15_mm", ".ckpt", "v3"), ("pia", ".pt", "pia")]
)
def test_files_built_from_the_real_manifests_load(run_node, name, suffix, fmt):
    sd = ad.state_dict(name, seed=1)
    path = ad.save(sd, folder() / f"{name}{suffix}")
    try:
        out = run_node("IV_LoadMotionModule", motion_module=path.name)
        weights, text = out.result
        assert isinstance(weights, MotionModuleWeights) and weights.format == fmt
        assert text.startswith({"v2": "AnimateDiff v2", "v3": "AnimateDiff v3", "pia": "PIA"}[fmt])
        assert out.ui["text"] == [text]
        expected = {k: v for k, v in sd.items() if not k.startswith("conv_in.")}
        assert weights.state_dict.keys() == expected.keys()
        assert all(torch.equal(weights.state_dict[k], v) for k, v in expected.items())
        if fmt == "pia":
            assert torch.equal(weights.conv_in[0], sd["conv_in.weight"])
    finally:
        path.unlink()


def _write_bad(kind: str) -> Path:
    small = {"down_blocks.0.motion_modules.0.temporal_transformer.norm.weight": torch.ones(320)}
    if kind == "truncated.safetensors":
        path = ad.save(small | {"x": torch.randn(1000)}, folder() / kind)
        path.write_bytes(path.read_bytes()[:200])
    elif kind == "truncated.ckpt":
        path = ad.save(small | {"x": torch.randn(1000)}, folder() / kind)
        path.write_bytes(path.read_bytes()[:-900])
    elif kind == "pickled_code.pt":
        path = folder() / kind
        torch.save({"state_dict": small, "trainer": Path("/")}, path)  # an object weights-only unpickling refuses
    elif kind == "sdxl.safetensors":
        path = ad.save(
            {  # SDXL's layout: three down blocks and three up blocks (SD1.5 has four of each)
                f"{side}_blocks.{i}.motion_modules.0.temporal_transformer.norm.weight": torch.ones(8)
                for side in ("down", "up")
                for i in range(3)
            },
            folder() / kind,
        )
    elif kind == "hotshot.safetensors":
        path = ad.save({"down_blocks.0.temporal_attentions.0.norm.weight": torch.ones(8)}, folder() / kind)
    elif kind == "checkpoint.safetensors":
        path = ad.save({"model.diffusion_model.out.2.bias": torch.zeros(4)}, folder() / kind)
    else:  # an incomplete motion module: one tensor of each down block only
        blocks = {f"down_blocks.{i}.motion_modules.0.temporal_transformer.norm.weight": i for i in range(4)}
        path = ad.save({k: torch.ones((320, 640, 1280, 1280)[i]) for k, i in blocks.items()}, folder() / kind)
    return path


@pytest.mark.parametrize(
    "kind,match",
    [
        ("truncated.safetensors", "damaged or truncated"),
        ("truncated.ckpt", "damaged or truncated"),
        ("pickled_code.pt", "more than tensors"),
        ("sdxl.safetensors", "SDXL motion module"),
        ("hotshot.safetensors", "HotshotXL"),
        ("checkpoint.safetensors", "full Stable Diffusion checkpoint"),
        ("incomplete.pth", "incomplete AnimateDiff v3.*missing"),
    ],
)
def test_bad_files_give_an_actionable_error(run_node, kind, match):
    path = _write_bad(kind)
    try:
        with pytest.raises(ValueError, match=match) as e:
            run_node("IV_LoadMotionModule", motion_module=kind)
        assert kind in str(e.value)
    finally:
        path.unlink()


def test_a_missing_file_names_the_folder(run_node):
    with pytest.raises(ValueError, match="'motion_module' is 'nowhere.ckpt', .*models/animatediff_models"):
        run_node("IV_LoadMotionModule", motion_module="nowhere.ckpt")


def test_a_model_that_is_not_sd15_is_refused(run_node, small_model):
    weights = MotionModuleWeights("m", "v3", 32, {})
    with pytest.raises(ValueError, match="needs an SD1.5 model"):
        run_node(
            "IV_ApplyAnimateDiff",
            model=small_model,
            motion_module=weights,
            beta_schedule="auto",
            motion_scale=1.0,
            effect=1.0,
        )


# ---- full-size SD1.5 UNet with a v3 module: one model for the tests below (≈ 5 GiB) ----


@pytest.fixture(scope="module")
def base_and_v3(pack):
    import comfyui_interactivevideo.core.motion_weights as mm

    base = sd15.build_model(seed=0)
    weights = mm.motion_module_from_state_dict(ad.state_dict("v3_sd15_mm", seed=4), "v3.safetensors")
    yield base, weights
    comfy.model_management.unload_all_models()


def apply(run_node, base, weights, **kw):
    args = {"beta_schedule": "auto", "motion_scale": 1.0, "effect": 1.0} | kw
    return run_node("IV_ApplyAnimateDiff", model=base, motion_module=weights, **args).result[0]


def cond(seed: int, frames: int = 1, **extra):
    return [[torch.randn(1, 77, 768, generator=torch.Generator().manual_seed(seed)), extra]]


def sample(model, frames: int, size: int = 8, steps: int = 1, positive=None, negative=None):
    latent = {"samples": torch.zeros(frames, 4, size, size)}
    return nodes.common_ksampler(
        model, 7, steps, 5.0, "euler", "normal", positive or cond(1), negative or cond(2), latent
    )[0]["samples"]


def fingerprint(patcher) -> dict:
    """Bitwise identity of the weights, the patches and the options of a ModelPatcher."""
    h = hashlib.sha1()
    for k, v in sorted(patcher.model.state_dict().items()):
        h.update(k.encode())
        h.update(v.detach().contiguous().view(torch.uint8).numpy().tobytes())
    return {
        "weights": h.hexdigest(),
        "patches": dict(patcher.patches),
        "object_patches": dict(patcher.object_patches),
        "model_options": repr(patcher.model_options),
        "size": patcher.model_size(),
    }


@pytest.mark.slow
def test_input_model_is_untouched_and_samples_as_before(run_node, base_and_v3):
    base, weights = base_and_v3
    before_print = fingerprint(base)
    before = sample(base, 4)
    animated = apply(run_node, base, weights)
    # The motion module sits in the clone's object patches, in the places the issue lists.
    places = sorted(
        k
        for k, v in animated.object_patches.items()
        if isinstance(v, torch.nn.Sequential) and any(isinstance(m, MotionModule) for m in v)
    )
    assert len(places) == 20 and "diffusion_model.middle_block" not in places
    moved = sample(animated, 4)  # the same 4 frames: only the clone's motion module differs
    after = sample(base, 4)
    comfy.model_management.unload_all_models()
    assert torch.equal(before, after)
    assert fingerprint(base) == before_print
    assert not any(isinstance(m, MotionModule) for m in base.model.diffusion_model.modules())
    assert not torch.allclose(moved, before, atol=1e-3)  # and the clone did animate


@pytest.mark.slow
def test_effect_zero_is_the_plain_model_per_frame(run_node, base_and_v3):
    base, weights = base_and_v3
    off = apply(run_node, base, weights, effect=0.0, beta_schedule="keep model's")
    assert torch.equal(sample(off, 3), sample(base, 3))


def test_beta_schedule_is_set_on_the_clone(run_node, base_and_v3):
    base, weights = base_and_v3
    sd15_sigmas = base.get_model_object("model_sampling").sigmas

    def sigmas(schedule):
        return apply(run_node, base, weights, beta_schedule=schedule).get_model_object("model_sampling").sigmas

    # AnimateDiff's training schedule: betas linear in beta (ComfyUI "sqrt_linear"), 0.00085..0.012.
    betas = torch.linspace(0.00085, 0.012, 1000, dtype=torch.float64)
    alphas_cumprod = torch.cumprod(1 - betas, 0)
    expected = ((1 - alphas_cumprod) / alphas_cumprod).sqrt().float()
    assert torch.allclose(sigmas("auto"), expected, rtol=1e-4)
    assert torch.allclose(sigmas("sqrt_linear"), expected, rtol=1e-4)
    assert torch.allclose(sigmas("linear"), sd15_sigmas)
    assert apply(run_node, base, weights, beta_schedule="keep model's").get_model_object(
        "model_sampling"
    ) is base.get_model_object("model_sampling")
    assert base.get_model_object("model_sampling").sigmas is sd15_sigmas


def test_applying_twice_is_refused(run_node, base_and_v3):
    base, weights = base_and_v3
    with pytest.raises(ValueError, match="already has a motion module"):
        apply(run_node, apply(run_node, base, weights), weights)


@pytest.mark.slow
def test_48_frames_run_in_16_frame_context_windows(run_node, base_and_v3):
    base, weights = base_and_v3
    animated = apply(run_node, base, weights)
    with pytest.raises(ValueError, match="48 frames per clip exceed .* 32"):
        sample(animated, 48, size=4)
    # Newer ComfyUI adds a "causal fix" frame to every window but the first, for causal video VAEs (Wan);
    # AnimateDiff's frames are independent latents, so the README says to turn it off, as here.
    newer = {"causal_window_fix": False} if comfy_env.has_input("ContextWindowsManual", "causal_window_fix") else {}
    windowed = comfy_env.run_node_with_defaults(
        "ContextWindowsManual",
        **newer,
        model=animated,
        context_length=16,
        context_overlap=4,
        context_schedule="standard_static",
        context_stride=1,
        closed_loop=False,
        fuse_method="pyramid",
        dim=0,
    ).result[0]
    seen = []
    module = next(m for m in windowed.object_patches["diffusion_model.input_blocks.1"] if isinstance(m, MotionModule))
    hook = module.register_forward_pre_hook(
        lambda mod, args, kwargs: seen.append((args[0].shape[0], kwargs)), with_kwargs=True
    )
    try:
        out = sample(windowed, 48, size=4)
    finally:
        hook.remove()
    comfy.model_management.unload_all_models()
    assert out.shape == (48, 4, 4, 4) and torch.isfinite(out).all()
    # every call holds whole 16-frame windows, one clip per cond group
    assert seen and all(n == 16 * kw["groups"] for n, kw in seen)


@pytest.mark.slow
def test_pia_conditioning_without_pia_module_is_a_clear_error(run_node, base_and_v3):
    base, weights = base_and_v3
    concat = torch.zeros(4, 5, 8, 8)
    with pytest.raises(ValueError, match="not PIA.*Load a PIA file"):
        sample(
            apply(run_node, base, weights),
            4,
            positive=cond(1, noise_concat=concat),
            negative=cond(2, noise_concat=concat),
        )
    comfy.model_management.unload_all_models()


# ---- PIA conditioning and image alignment: what the nodes hand on ----


@pytest.fixture(scope="module")
def vae(pack):
    return comfy.sd.VAE(sd=sd15.vae_state_dict())


def test_pia_conditioning_carries_mask_then_image_latent(run_node, vae):
    image = torch.rand(2, 64, 96, 3)
    frames, cond_frame = 16, 3
    pos, neg, latent = run_node(
        "IV_PIAConditioning",
        positive=cond(1),
        negative=cond(2),
        vae=vae,
        image=image,
        frames=frames,
        condition_frame=cond_frame,
        affinity="animation L",
        custom_affinity="",
    ).result
    z0 = vae.encode(image[:1])
    assert latent["samples"].shape == (frames, 4, 8, 12) and not latent["samples"].any()
    for c in (pos, neg):
        concat = c[0][1]["noise_concat"]
        assert concat.shape == (frames, 5, 8, 12)
        weights = preset_affinity(frames, cond_frame, "animation L")
        assert torch.equal(concat[:, 0], weights.view(frames, 1, 1).expand(frames, 8, 12))
        assert torch.allclose(concat[:, 1:], (z0 * 0.18215).expand(frames, -1, -1, -1))


def test_image_align_is_the_alignment_role_with_pia_weights(run_node, vae):
    image = torch.rand(1, 64, 64, 3)
    (align,) = run_node(
        "IV_ImageAlign", vae=vae, image=image, frames=16, condition_frame=0, affinity="custom", custom_affinity="1, .5"
    ).result
    assert isinstance(align, Align)
    assert torch.equal(align.image, vae.encode(image))  # raw VAE latent, not model-scaled
    assert align.affinity.tolist() == [1.0] + [0.5] * 15
    assert align.tolerance == 0.0  # free_motion 'hold' by default, so API prompts made before it behave as before


def test_image_align_free_motion_keep_sets_the_tolerance_and_a_wrong_choice_is_named(run_node, vae):
    inputs = dict(vae=vae, image=torch.rand(1, 64, 64, 3), frames=4, condition_frame=0, affinity="animation M")
    kept = run_node("IV_ImageAlign", custom_affinity="", free_motion="keep", **inputs).result[0]
    held = run_node("IV_ImageAlign", custom_affinity="", free_motion="hold", **inputs).result[0]
    assert (kept.tolerance, held.tolerance) == (FREE_MOTION_TOLERANCE, 0.0)
    with pytest.raises(ValueError, match="'free_motion' is 'loose', not one of its choices"):
        run_node("IV_ImageAlign", custom_affinity="", free_motion="loose", **inputs)


def test_bad_affinity_is_reported_by_the_node(run_node, vae):
    with pytest.raises(ValueError, match="condition frame 20 is outside"):
        run_node(
            "IV_ImageAlign",
            vae=vae,
            image=torch.rand(1, 64, 64, 3),
            frames=16,
            condition_frame=20,
            affinity="animation S",
            custom_affinity="",
        )


@pytest.mark.slow
def test_motion_modules_follow_the_model_dtype_and_load_with_it(run_node, base_and_v3):
    base, weights = base_and_v3
    half = sd15.build_model(dtype=torch.float16, state=base.model.diffusion_model.state_dict())  # cast, not redrawn
    animated = apply(run_node, half, weights)
    modules = [m for v in animated.object_patches.values() if isinstance(v, torch.nn.Module) for m in v.children()]
    modules = [m for m in modules if isinstance(m, MotionModule)]
    assert len(modules) == 20
    assert {p.dtype for m in modules for p in m.parameters()} == {torch.float16}
    # ComfyUI's loader sees them as part of the model (so device moves and low-VRAM offload include them)
    assert animated.model_size() > half.model_size() + 800e6  # v3: 417 M parameters in fp16
    comfy.model_management.load_models_gpu([animated])
    loaded = {id(m) for m in animated.model.modules()}
    assert all(id(m) in loaded for m in modules)
    comfy.model_management.unload_all_models()
    assert not any(isinstance(m, MotionModule) for m in half.model.diffusion_model.modules())
