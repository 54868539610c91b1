import pytest
import torch

from core.paint import composite_paint


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
