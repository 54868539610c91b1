"""core.blend: one step's residual pull, Eq. 4's mix, the strength schedule over σ-progress, time resampling.

Where the target and region come from is tested in test_instructions.py."""

import math

import pytest
import torch

from comfyui_interactivevideo.core.blend import DEFAULT_SCHEDULE, Schedule, mix_predictions, pull, resample_frames


def test_pull_is_the_documented_residual():
    gen = torch.Generator().manual_seed(0)
    x0, target = torch.randn(3, 4, 8, 8, generator=gen), torch.randn(3, 4, 8, 8, generator=gen)
    mask = torch.rand(3, 1, 8, 8, generator=gen)
    for s in (0.0, 0.3, 1.0):
        torch.testing.assert_close(pull(x0, target, mask, s), x0 + s * mask * (target - x0))
    hard = (mask > 0.5).float()
    out = pull(x0, target, hard, 1.0)
    torch.testing.assert_close(out * hard, target * hard)
    torch.testing.assert_close(out * (1 - hard), x0 * (1 - hard))


def test_the_default_schedule_stops_before_the_end():
    assert DEFAULT_SCHEDULE.at(0.0) == 1.0 and DEFAULT_SCHEDULE.at(0.79) == 1.0
    assert DEFAULT_SCHEDULE.at(0.81) == 0.0 and DEFAULT_SCHEDULE.at(1.0) == 0.0


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


def test_resample_frames_is_linear_in_time():
    values = torch.tensor([0.0, 10.0, 20.0]).view(3, 1)
    assert resample_frames(values, 5).flatten().tolist() == [0.0, 5.0, 10.0, 15.0, 20.0]
    assert resample_frames(values[:1], 4).flatten().tolist() == [0.0] * 4
