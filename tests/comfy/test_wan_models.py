"""The random-weight Wan fixtures (devkit/wan.py) are what ComfyUI's own loaders and detection take for Wan models,
and a core Wan image-to-video graph samples with them."""

import comfy.latent_formats
import comfy.ldm.wan.vae
import comfy.model_base
import comfy.model_sampling
import comfy.sd
import comfy.supported_models
import comfy.utils
import pytest
import torch

import nodes
from comfyui_interactivevideo.devkit import wan


@pytest.fixture(scope="module")
def wan_i2v(pack):
    return wan.build_wan("i2v", seed=0)


@pytest.fixture(scope="module")
def wan_vae(pack):
    """The real-size Wan 2.1 VAE (random weights), read by ComfyUI's VAE detection."""
    return comfy.sd.VAE(sd=comfy.utils.load_torch_file(str(wan.wan_vae_file())))


def test_file_keys_are_comfy_org_repackaged_format():
    sd = comfy.utils.load_torch_file(str(wan.wan21_file(0, "i2v")))
    for key in ("patch_embedding.weight", "blocks.0.self_attn.q.weight", "blocks.1.ffn.2.weight", "head.modulation"):
        assert key in sd
    assert not any(k.startswith(("model.", "diffusion_model.", "img_emb.")) for k in sd)
    assert sd["patch_embedding.weight"].shape == (128, 36, 1, 2, 2)
    assert sd["text_embedding.0.weight"].shape == (128, 4096)
    assert sd["head.head.weight"].shape == (16 * 4, 128)
    assert all(v.dtype == torch.float16 for v in sd.values())


def test_i2v_variant_loads_as_wan21_with_flow_sampling(wan_i2v):
    model = wan_i2v.model
    assert type(model) is comfy.model_base.WAN21
    # No img_emb (no CLIP vision), 36 input channels: the class the real Wan 2.2 I2V A14B files load as.
    assert type(model.model_config) is comfy.supported_models.WAN21_T2V
    assert type(model.latent_format) is comfy.latent_formats.Wan21
    sampling = wan_i2v.get_model_object("model_sampling")
    assert isinstance(sampling, comfy.model_sampling.ModelSamplingDiscreteFlow)
    assert sampling.shift == pytest.approx(8.0)  # WAN21_T2V.sampling_settings
    dit = model.diffusion_model
    assert dit.patch_embedding.weight.shape[1] == 36 and dit.out_dim == 16
    assert dit.num_heads == 1 and len(dit.blocks) == 2
    # Every weight of the file went in, nothing left at ComfyUI's uninitialised values.
    file_keys = set(comfy.utils.load_torch_file(str(wan.wan21_file(0, "i2v"))))
    assert set(dit.state_dict()) == file_keys


def test_ti2v_variant_loads_as_wan22_5b(pack):
    m = wan.build_wan("ti2v_5b", seed=0)
    assert type(m.model) is comfy.model_base.WAN22
    assert type(m.model.model_config) is comfy.supported_models.WAN22_T2V
    assert type(m.model.latent_format) is comfy.latent_formats.Wan22
    assert m.model.latent_format.latent_channels == 48
    assert isinstance(m.get_model_object("model_sampling"), comfy.model_sampling.ModelSamplingDiscreteFlow)
    x = torch.randn(1, 48, 2, 4, 4)
    out = m.model.apply_model(x, torch.tensor([0.5]), c_crossattn=wan.text_conditioning("a fox")[0][0])
    assert out.shape == x.shape and torch.isfinite(out).all()


def test_text_conditioning_is_deterministic_and_padded():
    ((cond, extra),) = wan.text_conditioning("a red fox runs")
    assert cond.shape == (1, 512, 4096) and extra == {}
    assert torch.equal(cond, wan.text_conditioning("a red fox runs")[0][0])
    assert not torch.equal(cond, wan.text_conditioning("a blue fox runs")[0][0])
    assert cond[0, :5].abs().sum(-1).min() > 0 and cond[0, 5:].abs().sum() == 0  # 4 words + end token
    assert wan.text_conditioning("x", length=16)[0][0].shape == (1, 16, 4096)


def test_wan21_vae_is_detected_and_round_trips_5_frames(wan_vae):
    assert type(wan_vae.first_stage_model) is comfy.ldm.wan.vae.WanVAE
    assert wan_vae.latent_channels == 16
    n_params = sum(p.numel() for p in wan_vae.first_stage_model.parameters())
    assert 126e6 < n_params < 128e6  # the real wan_2.1_vae: 126.9 M
    # ComfyUI loads VAEs non-strictly: the file must hold exactly this ComfyUI's module keys.
    file_keys = set(comfy.utils.load_torch_file(str(wan.wan_vae_file())))
    assert set(wan_vae.first_stage_model.state_dict()) == file_keys
    frames = torch.rand(5, 64, 64, 3)
    latent = wan_vae.encode(frames)
    assert latent.shape == (1, 16, 2, 8, 8) and torch.isfinite(latent).all()
    decoded = wan_vae.decode(latent)
    assert decoded.shape == (1, 5, 64, 64, 3) and torch.isfinite(decoded).all()


def test_core_wan_image_to_video_ksampler_run(wan_i2v, wan_vae, run_node):
    """WanImageToVideo (start image, length 5) → KSampler, 2 steps: the model sees 16 noise + 4 mask + 16 image."""
    start = torch.rand(1, 64, 64, 3)
    positive, negative, latent = run_node(
        "WanImageToVideo",
        positive=wan.text_conditioning("a red fox runs"),
        negative=wan.text_conditioning("blurry"),
        vae=wan_vae,
        width=64,
        height=64,
        length=5,
        batch_size=1,
        start_image=start,
    ).result
    assert latent["samples"].shape == (1, 16, 2, 8, 8)
    assert positive[0][1]["concat_latent_image"].shape == (1, 16, 2, 8, 8)
    assert positive[0][1]["concat_mask"].shape == (1, 1, 2, 8, 8)

    seen = []
    model = wan_i2v.clone()

    def wrapper(apply_model, args):
        seen.append(args["c"]["c_concat"])
        return apply_model(args["input"], args["timestep"], **args["c"])

    model.set_model_unet_function_wrapper(wrapper)
    (out,) = nodes.KSampler().sample(model, 7, 2, 3.0, "euler", "simple", positive, negative, latent, denoise=1.0)
    samples = out["samples"]
    assert samples.shape == (1, 16, 2, 8, 8) and torch.isfinite(samples).all()
    assert len(seen) == 2
    concat = seen[0]
    assert concat.shape == (2, 20, 2, 8, 8)  # cond and uncond batched: 4 mask + 16 image channels
    # concat_cond inverts the node's mask: 1 where the frame is given (latent frame 0), 0 elsewhere.
    assert torch.all(concat[:, :4, 0] == 1) and torch.all(concat[:, :4, 1] == 0)
