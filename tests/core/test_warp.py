import pytest
import torch

from comfyui_interactivevideo.core.warp import resize_flow, warp


def test_zero_flow_is_identity():
    img = torch.rand(1, 3, 17, 23)
    out = warp(img, torch.zeros(4, 17, 23, 2))
    assert out.shape == (4, 3, 17, 23)
    assert torch.allclose(out, img.expand(4, -1, -1, -1), atol=1e-6)


def test_integer_shift_reads_from_p_plus_flow():
    img = torch.rand(1, 2, 16, 20)
    flow = torch.zeros(1, 16, 20, 2)
    flow[..., 0], flow[..., 1] = 3.0, -2.0  # frame shows frame 0 at (x + 3, y - 2)
    out = warp(img, flow)
    assert torch.allclose(out[0, :, 2:, :17], img[0, :, :14, 3:], atol=1e-5)


def test_flow_is_rescaled_to_the_tensor_resolution():
    img = torch.rand(1, 1, 8, 8)
    flow = torch.zeros(1, 64, 64, 2)
    flow[..., 0] = 16.0  # 16 px of 64 = 2 px of 8
    out = warp(img, flow)
    assert torch.allclose(out[0, 0, :, :6], img[0, 0, :, 2:], atol=1e-5)
    assert torch.allclose(resize_flow(flow, 8, 8)[..., 0], torch.full((1, 8, 8), 2.0))


def test_mismatched_frames_are_refused():
    with pytest.raises(ValueError, match="frames"):
        warp(torch.rand(3, 1, 8, 8), torch.zeros(4, 8, 8, 2))
