"""The random-weight SD1.5 fixtures are the real architecture, read by ComfyUI's own loaders."""

import torch


def test_full_checkpoint_is_detected_as_sd15(sd15_full):
    model, clip, vae = sd15_full
    assert type(model.model.model_config).__name__ == "SD15"
    n_params = sum(p.numel() for p in model.model.diffusion_model.parameters())
    assert 855e6 < n_params < 865e6  # SD1.5's UNet: 859.5 M
    cond = clip.encode_from_tokens(clip.tokenize("a red fox"))
    assert cond.shape == (1, 77, 768) and torch.isfinite(cond).all()
    latent = vae.encode(torch.rand(1, 64, 64, 3))
    assert latent.shape == (1, 4, 8, 8) and torch.isfinite(latent).all()


def test_small_model_keeps_sd15_blocks_and_gives_finite_predictions(small_model):
    unet = small_model.model.diffusion_model
    assert len(unet.input_blocks) == 12 and len(unet.output_blocks) == 12
    x = torch.randn(2, 4, 8, 8)
    out = small_model.model.apply_model(x, torch.tensor([1.0, 1.0]), c_crossattn=torch.randn(2, 77, 768))
    assert out.shape == x.shape and torch.isfinite(out).all() and out.std() > 0.1
