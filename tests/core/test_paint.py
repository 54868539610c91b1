import pytest
import torch

from comfyui_interactivevideo.core.paint import composite_paint


def test_opaque_stroke_replaces_and_transparent_keeps():
    image = torch.rand(2, 8, 10, 3)
    layer = torch.zeros(8, 10, 4)
    layer[2:4, 3:6] = torch.tensor([1.0, 0.0, 0.0, 1.0])
    painted, mask = composite_paint(image, layer)
    assert torch.equal(painted[:, 2:4, 3:6], torch.tensor([1.0, 0.0, 0.0]).expand(2, 2, 3, 3))
    keep = torch.ones(8, 10, dtype=torch.bool)
    keep[2:4, 3:6] = False
    assert torch.equal(painted[:, keep], image[:, keep])
    assert mask.shape == (2, 8, 10) and mask[:, 2:4, 3:6].eq(1).all() and mask[:, keep].eq(0).all()


def test_half_opacity_blends():
    image = torch.zeros(1, 4, 4, 3)
    layer = torch.tensor([0.0, 1.0, 0.0, 0.5]).expand(4, 4, 4)
    painted, mask = composite_paint(image, layer)
    assert torch.allclose(painted, torch.tensor([0.0, 0.5, 0.0]).expand(1, 4, 4, 3))
    assert torch.allclose(mask, torch.full((1, 4, 4), 0.5))


def test_layer_drawn_at_another_size_is_resized():
    image = torch.zeros(1, 64, 64, 3)
    layer = torch.zeros(16, 16, 4)
    layer[:, 8:] = torch.tensor([1.0, 1.0, 1.0, 1.0])
    painted, mask = composite_paint(image, layer)
    assert mask[0, :, 36:].eq(1).all() and mask[0, :, :28].eq(0).all()


def test_bad_layer_shape_is_refused():
    with pytest.raises(ValueError, match="RGBA"):
        composite_paint(torch.zeros(1, 4, 4, 3), torch.zeros(4, 4, 3))


def test_resized_layer_edges_keep_the_stroke_colour():
    # Transparent pixels carry black RGB in a canvas PNG; resampling must not darken the stroke's edge.
    layer = torch.zeros(8, 8, 4)
    layer[:, 4:] = torch.tensor([1.0, 1.0, 1.0, 1.0])
    painted, mask = composite_paint(torch.ones(1, 32, 32, 3), layer)
    assert torch.allclose(painted, torch.ones_like(painted), atol=1e-5)
    assert 0 < mask[0, 0, 15].item() < 1


def test_load_layer_reads_straight_alpha(tmp_path):
    import numpy as np
    from PIL import Image

    from comfyui_interactivevideo.core.paint import load_layer

    rgba = np.zeros((5, 7, 4), np.uint8)
    rgba[1:3, 2:4] = (255, 0, 0, 128)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "layer.png")
    Image.fromarray(rgba[..., :3], "RGB").save(tmp_path / "opaque.png")
    layer = load_layer(tmp_path / "layer.png")
    assert layer.shape == (5, 7, 4) and layer.dtype == torch.float32
    assert torch.allclose(layer[1, 2], torch.tensor([1.0, 0.0, 0.0, 128 / 255]))
    assert layer[0, 0, 3] == 0
    assert load_layer(tmp_path / "opaque.png")[..., 3].eq(1).all()
