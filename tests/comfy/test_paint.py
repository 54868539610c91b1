"""IV_PaintEncode with the real SD1.5 VAE architecture (random weights): latents, region semantics, errors."""

import pytest
import torch

from comfyui_interactivevideo.core.instructions import Paint, compose
from comfyui_interactivevideo.core.paint import composite_paint


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
    paint, mask = run_node(
        "IV_PaintEncode", vae=vae, original=original, painted=painted, threshold=0.05, grow=0, feather=0
    ).result
    assert isinstance(paint, Paint)
    assert paint.painted.shape == (1, 4, 8, 12) and paint.original.shape == (1, 4, 8, 12)
    torch.testing.assert_close(paint.original, vae.encode(original))
    torch.testing.assert_close(paint.painted, vae.encode(painted))
    assert mask.shape == (1, 64, 96) and float(mask.sum()) == 24 * 32
    lat = paint.region[0, 0]
    # rows 16-39, cols 24-55: the cells the stroke touches (latent rows 2-4, cols 3-6) are 1, the others 0
    assert torch.all(lat[2:5, 3:7] == 1.0)
    assert float(lat.sum()) == 3 * 4


def layer_stroke(opacity: float, width: int = 6) -> torch.Tensor:
    """An RGBA layer [64, 96, 4] with a horizontal yellow line ``width`` pixels thick at ``opacity``."""
    layer = torch.zeros(64, 96, 4)
    layer[29 : 29 + width, 8:88] = torch.tensor([1.0, 0.9, 0.1, opacity])
    return layer


@pytest.mark.parametrize("opacity", [0.5, 1.0])
def test_opacity_applies_once(run_node, vae, opacity):
    """The canvas gives painted (composited at the stroke's opacity) and paint_mask (the alpha). At strength 1 the
    instruction's target inside the stroke must be what should show: the VAE's code of the image with the stroke
    over it at its opacity (written out here), the opacity applied once."""
    original, _ = images()
    painted, alpha = composite_paint(original, layer_stroke(opacity))
    paint, _ = run_node(
        "IV_PaintEncode", vae=vae, original=original, painted=painted, mask=alpha, threshold=0.04, grow=0, feather=0
    ).result
    should_show = original.clone()
    should_show[0, 29:35, 8:88] = (1 - opacity) * original[0, 29:35, 8:88] + opacity * torch.tensor([1.0, 0.9, 0.1])
    expected = vae.encode(should_show)[0]
    target = compose(1, paints=[paint]).target[0]
    cells = paint.region[0, 0] == 1.0
    assert int(cells.sum()) == 10 * 2  # the line's latent cells (cols 1-10, rows 3-4), fully weighted
    torch.testing.assert_close(target[:, cells], expected[:, cells], atol=1e-4, rtol=0)
    # Controls: the old reading (region = alpha on top of the composited image) applies the opacity twice; without
    # the paint the target is the original's code. Both are rejected.
    original_code = vae.encode(original)[0]
    if opacity < 1.0:
        twice = original_code + opacity * (expected - original_code)
        assert float((twice - expected)[:, cells].abs().amax()) > 1e-2
    assert float((original_code - expected)[:, cells].abs().amax()) > 1e-2


def test_a_thin_stroke_covers_the_latent_cells_it_crosses(run_node, vae):
    original, _ = images()
    for width in (2, 6):
        painted, alpha = composite_paint(original, layer_stroke(1.0, width))
        paint, mask = run_node(
            "IV_PaintEncode", vae=vae, original=original, painted=painted, mask=alpha, threshold=0.04, grow=0, feather=0
        ).result
        assert float(mask.sum()) == width * 80
        assert float(paint.region.max()) == 1.0 and int((paint.region == 1.0).sum()) >= 10, width
    # Control: averaging each 8×8 cell (the old reduction) gives a 6-pixel line at most 0.75.
    assert float(torch.nn.functional.adaptive_avg_pool2d(mask[None], (8, 12)).max()) <= 0.75


def test_a_given_mask_takes_threshold_grow_and_feather(run_node, vae):
    original, painted = images()
    given = torch.zeros(1, 64, 96)
    given[0, 20:30, 30:40] = 0.3  # soft paint coverage
    given[0, 50, 80] = 0.02  # below the threshold
    common = {"vae": vae, "original": original, "painted": painted, "mask": given}
    _, hard = run_node("IV_PaintEncode", threshold=0.04, grow=0, feather=0, **common).result
    assert torch.equal(hard[0], (given[0] > 0.04).float())  # 1 wherever there is paint, whatever its opacity
    _, grown = run_node("IV_PaintEncode", threshold=0.04, grow=4, feather=0, **common).result
    assert float(grown[0, 17, 35]) == 1.0 and float(grown[0, 14, 35]) == 0.0
    _, soft = run_node("IV_PaintEncode", threshold=0.04, grow=4, feather=6, **common).result
    assert 0.0 < float(soft[0, 14, 35]) < 1.0 and float(soft[0, 20:30, 30:40].min()) == 1.0
    _, none = run_node("IV_PaintEncode", threshold=0.5, grow=4, feather=6, **common).result
    assert float(none.sum()) == 0.0


def test_mismatches_are_clear_errors(run_node, vae):
    original, painted = images()
    kw = {"vae": vae, "threshold": 0.05, "grow": 0, "feather": 0}
    with pytest.raises(ValueError, match="resize one to the other"):
        run_node("IV_PaintEncode", original=original, painted=painted[:, :, :64], **kw)
    with pytest.raises(ValueError, match="one image, got a batch of 2"):
        run_node("IV_PaintEncode", original=original.repeat(2, 1, 1, 1), painted=painted, **kw)
    with pytest.raises(ValueError, match="'mask' is 32x32"):
        run_node("IV_PaintEncode", original=original, painted=painted, mask=torch.ones(1, 32, 32), **kw)
