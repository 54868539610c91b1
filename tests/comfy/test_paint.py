"""IV_PaintEncode with the real SD1.5 VAE architecture (random weights): latents, region, errors."""

import pytest
import torch

from comfyui_interactivevideo.core.edit import Edit


@pytest.fixture(scope="module")
def vae(pack):
    import comfy.sd

    from comfyui_interactivevideo.devkit import sd15

    return comfy.sd.VAE(sd=sd15.vae_state_dict())


def images():
    original = torch.rand(1, 64, 96, 3, generator=torch.Generator().manual_seed(0)) * 0.2 + 0.4
    painted = original.clone()
    painted[0, 16:40, 24:56] = torch.tensor([0.9, 0.1, 0.1])
    return original, painted


def test_paint_encode_carries_latents_and_the_painted_region(run_node, vae):
    original, painted = images()
    edit, mask = run_node(
        "IV_PaintEncode", vae=vae, original=original, painted=painted, threshold=0.05, grow=0, feather=0
    ).result
    assert isinstance(edit, Edit)
    assert edit.target.shape == (1, 4, 8, 12) and edit.original.shape == (1, 4, 8, 12)
    torch.testing.assert_close(edit.original, vae.encode(original))
    torch.testing.assert_close(edit.target, vae.encode(painted))
    assert mask.shape == (1, 64, 96) and float(mask.sum()) == 24 * 32
    lat = edit.mask[0, 0]
    assert torch.all(lat[2:5, 3:7] == 1.0)  # the latent cells fully inside the stroke (rows 16-39, cols 24-55)
    assert float(lat[:, :3].sum()) == 0.0 and float(lat[6:].sum()) == 0.0 and float(lat[:, 7:].sum()) == 0.0
    assert float(lat[5, 3]) == 0.0 and float(lat[1, 3]) == 0.0


def test_a_given_mask_is_used_as_is(run_node, vae):
    original, painted = images()
    given = torch.zeros(1, 64, 96)
    given[0, :32, :48] = 1.0
    edit, mask = run_node(
        "IV_PaintEncode", vae=vae, original=original, painted=painted, mask=given, threshold=0.05, grow=8, feather=8
    ).result
    assert torch.equal(mask, given)
    assert torch.equal(edit.mask[0, 0], (torch.arange(8).view(8, 1) < 4) & (torch.arange(12) < 6))


def test_mismatches_are_clear_errors(run_node, vae):
    original, painted = images()
    kw = {"vae": vae, "threshold": 0.05, "grow": 0, "feather": 0}
    with pytest.raises(ValueError, match="resize one to the other"):
        run_node("IV_PaintEncode", original=original, painted=painted[:, :, :64], **kw)
    with pytest.raises(ValueError, match="one image, got a batch of 2"):
        run_node("IV_PaintEncode", original=original.repeat(2, 1, 1, 1), painted=painted, **kw)
    with pytest.raises(ValueError, match="'mask' is 32x32"):
        run_node("IV_PaintEncode", original=original, painted=painted, mask=torch.ones(1, 32, 32), **kw)
