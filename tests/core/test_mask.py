"""core.mask: the painted region from the image difference, and its latent-resolution version."""

import pytest
import torch

from comfyui_interactivevideo.core.mask import painted_region, region_from_mask, to_latent


def _images():
    original = torch.full((1, 96, 128, 3), 0.5)
    painted = original.clone()
    painted[0, 30:50, 40:70] = torch.tensor([1.0, 0.0, 0.0])  # a red stroke
    painted[0, 80, 10] = 0.9  # a one-pixel speck (e.g. JPEG noise) that must not count
    return original, painted


def test_region_covers_the_stroke_grown_and_feathered_and_drops_specks():
    original, painted = _images()
    mask = painted_region(original, painted, threshold=0.05, grow=4, feather=4)
    assert mask.shape == (1, 96, 128)
    assert torch.all(mask[0, 30:50, 40:70] > 0.99)  # the stroke itself
    assert float(mask[0, 28, 55]) > 0.5  # grown past its edge
    assert 0.0 < float(mask[0, 40, 34]) < 1.0  # a soft edge further out (stroke edge 40, grown to 36, feather to 32)
    assert float(mask[0, 40, 31]) == 0.0
    assert float(mask[0, 75:86, 5:16].max()) == 0.0  # the speck is gone
    assert float(mask[0, :, 100:].max()) == 0.0  # far away nothing


def test_hard_edge_without_grow_or_feather_and_threshold():
    original, painted = _images()
    mask = painted_region(original, painted, threshold=0.05, grow=0, feather=0)
    assert torch.equal(mask[0, 30:50, 40:70], torch.ones(20, 30))
    assert float(mask.sum()) == 20 * 30
    assert float(painted_region(original, painted, threshold=0.6, grow=0, feather=0).sum()) == 0.0


def test_size_mismatch_is_an_error():
    with pytest.raises(ValueError, match="one size"):
        painted_region(torch.zeros(1, 8, 8, 3), torch.zeros(1, 8, 16, 3))


def test_to_latent_takes_each_cells_largest_value():
    mask = torch.zeros(1, 16, 16)
    mask[0, :8, :4] = 1
    mask[0, 9, 9] = 0.4
    lat = to_latent(mask, 2, 2)
    assert lat.shape == (1, 1, 2, 2)
    assert lat.flatten().tolist() == pytest.approx([1.0, 0.0, 0.0, 0.4])


def test_a_given_mask_is_thresholded_grown_and_feathered_without_losing_thin_strokes():
    mask = torch.zeros(1, 32, 32)
    mask[0, 10, 4:28] = 0.5  # a one-pixel line at half opacity
    mask[0, 25, 25] = 0.01  # below the threshold
    hard = region_from_mask(mask, threshold=0.04, grow=0, feather=0)
    assert torch.equal(hard, (mask > 0.04).float())  # nothing opened away, opacity not applied again
    grown = region_from_mask(mask, threshold=0.04, grow=2, feather=0)
    assert float(grown[0, 12, 10]) == 1.0 and float(grown[0, 13, 10]) == 0.0
    soft = region_from_mask(mask[0], threshold=0.04, grow=2, feather=3)
    assert 0.0 < float(soft[0, 13, 10]) < 1.0 and float(soft[0, 17, 10]) == 0.0
    assert float(region_from_mask(mask, threshold=0.6).sum()) == 0.0
