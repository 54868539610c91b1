"""core.blend: the residual blend, the strength schedule and the per-frame instruction along a flow."""

import math

import pytest
import torch

from comfyui_interactivevideo.core.blend import Schedule, blend, frame_instruction, mix_predictions, resample_frames
from comfyui_interactivevideo.core.edit import Edit
from comfyui_interactivevideo.core.flow import Flow


def test_blend_is_the_documented_residual_for_one_instruction():
    gen = torch.Generator().manual_seed(0)
    x0, target = torch.randn(3, 4, 8, 8, generator=gen), torch.randn(3, 4, 8, 8, generator=gen)
    mask = torch.rand(3, 1, 8, 8, generator=gen)
    for s in (0.0, 0.3, 1.0):
        torch.testing.assert_close(blend(x0, [target], [mask], s), x0 + s * mask * (target - x0))
    hard = (mask > 0.5).float()
    out = blend(x0, [target], [hard], 1.0)
    torch.testing.assert_close(out * hard, target * hard)
    torch.testing.assert_close(out * (1 - hard), x0 * (1 - hard))


def test_overlapping_instructions_share_the_pull_and_never_overshoot():
    x0 = torch.zeros(1, 1, 1, 2)
    a, b = torch.full_like(x0, 2.0), torch.full_like(x0, 4.0)
    ones = torch.ones(1, 1, 1, 2)
    half = torch.tensor([[[[1.0, 0.0]]]])
    out = blend(x0, [a, b], [ones, half], 1.0)
    assert out.flatten().tolist() == [3.0, 2.0]  # the mean of 2 and 4 where both act; only a where half is 0
    assert float(blend(x0, [a, b], [ones, ones], 1.0).max()) <= 4.0


def test_mix_predictions_is_eq4_inside_the_region():
    x0, x1 = torch.zeros(2, 4, 4, 4), torch.ones(2, 4, 4, 4)
    mask = torch.zeros(2, 1, 4, 4)
    mask[..., :2] = 1
    out = mix_predictions(x0, x1, mask, 0.25)  # λ = 0.75: 0.75·ε + 0.25·ε′ inside
    assert torch.all(out[..., :2] == 0.25) and torch.all(out[..., 2:] == 0)


@pytest.mark.parametrize(
    ("curve", "expected"),
    [
        ("constant", lambda u: 0.8),
        ("linear", lambda u: 0.8 * (1 - u)),
        ("cosine", lambda u: 0.8 * 0.5 * (1 + math.cos(math.pi * u))),
    ],
)
def test_schedule_curves_over_the_span_and_zero_outside(curve, expected):
    sched = Schedule(0.8, start=0.2, end=0.6, curve=curve)
    assert sched.at(0.0) == 0.0 and sched.at(0.19) == 0.0 and sched.at(0.61) == 0.0 and sched.at(1.0) == 0.0
    for p in (0.2, 0.3, 0.4, 0.5, 0.6):
        assert sched.at(p) == pytest.approx(expected((p - 0.2) / 0.4), abs=1e-12)


def test_schedule_rejects_nonsense():
    with pytest.raises(ValueError, match="curve"):
        Schedule(0.5, curve="exp")
    with pytest.raises(ValueError, match="start"):
        Schedule(0.5, start=0.7, end=0.3)


def _disk(h, w, cy, cx, r):
    ys, xs = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    return (((ys - cy) ** 2 + (xs - cx) ** 2) <= r * r).float()


def _translation(frames, h, w, scale, step):
    """Backward flow of a global translation by ``step`` latent pixels per frame, in image pixels (×scale)."""
    flow = torch.zeros(frames, h * scale, w * scale, 2)
    for f in range(frames):
        flow[f, ..., 0] = -step[0] * f * scale
        flow[f, ..., 1] = -step[1] * f * scale
    return flow


def test_frame_instruction_moves_target_and_region_along_the_flow():
    frames, h, w, scale = 4, 16, 16, 8
    gen = torch.Generator().manual_seed(1)
    target = torch.randn(1, 4, h, w, generator=gen)
    paint = _disk(h, w, 5, 5, 2).view(1, 1, h, w)
    moved_disk = torch.stack([_disk(h, w, 5 + f, 5 + 2 * f, 2) for f in range(frames)])  # dy=1, dx=2 per frame
    weight = moved_disk.repeat_interleave(scale, 1).repeat_interleave(scale, 2)  # image resolution
    flow = Flow(_translation(frames, h, w, scale, (2, 1)), weight)
    t, m = frame_instruction(Edit(target=target, mask=paint), flow, frames)
    for f in range(frames):
        region = moved_disk[f].bool()
        shifted = torch.roll(target[0], shifts=(f, 2 * f), dims=(1, 2))  # frame f at p shows frame 0 at p − (f, 2f)
        torch.testing.assert_close(t[f][:, region], shifted[:, region], atol=1e-5, rtol=0)
        torch.testing.assert_close(m[f, 0], torch.maximum(moved_disk[f], moved_disk[f]), atol=1e-6, rtol=0)
    # no flow: the target and the painted region stay where they are, weighted per frame
    t, m = frame_instruction(
        Edit(target=target, mask=paint, frame_weights=torch.tensor([1.0, 0.5, 0.25, 0.0])), None, frames
    )
    assert torch.equal(t, target.expand(frames, -1, -1, -1))
    torch.testing.assert_close(m[:, 0], paint[0, 0] * torch.tensor([1.0, 0.5, 0.25, 0.0]).view(4, 1, 1))


def test_frame_instruction_frame_counts():
    edit = Edit(target=torch.zeros(3, 4, 8, 8), mask=torch.ones(3, 1, 8, 8))
    with pytest.raises(ValueError, match="3 frames but the latent batch has 5"):
        frame_instruction(edit, None, 5)
    t, m = frame_instruction(edit, None, 5, resample_time=True)
    assert t.shape == (5, 4, 8, 8) and m.shape == (5, 1, 8, 8)


def test_resample_frames_is_linear_in_time():
    values = torch.tensor([0.0, 10.0, 20.0]).view(3, 1)
    assert resample_frames(values, 5).flatten().tolist() == [0.0, 5.0, 10.0, 15.0, 20.0]
    assert resample_frames(values[:1], 4).flatten().tolist() == [0.0] * 4
