"""core.blend: one step's residual pull, Eq. 4's mix, the strength schedule over σ-progress, time resampling.

Where the target and region come from is tested in test_instructions.py."""

import math

import pytest
import torch

from comfyui_interactivevideo.core.blend import DEFAULT_SCHEDULE, RegionClock, Schedule, mix_predictions, pull


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


def _flow_euler(eps: torch.Tensor, sigmas: torch.Tensor, predict) -> list[torch.Tensor]:
    """Euler on a flow-matching ODE (x = (1 − σ)·x₀ + σ·ε): x ← x + (σ′ − σ)(x − x̂₀)/σ; returns x after each step."""
    x, seen = eps.clone(), []
    for i in range(len(sigmas) - 1):
        s, s_next = float(sigmas[i]), float(sigmas[i + 1])
        x = x + (s_next - s) * (x - predict(x, i, s)) / s
        seen.append(x)
    return seen


def test_region_clock_keeps_the_region_on_the_noised_reference_with_the_same_noise():
    """Time-to-Move's dual clock: the region follows (1 − σ)·T + σ·ε, with the run's own ε, at every step until its
    release, whatever the model predicts; the background is pinned only until its (earlier) end. Control: the
    residual at strength 0.5 over the same span leaves the noised reference."""
    gen = torch.Generator().manual_seed(3)
    eps, target = torch.randn(2, 4, 8, 8, generator=gen), torch.randn(2, 4, 8, 8, generator=gen)
    region = torch.zeros(2, 1, 8, 8)
    region[..., 2:5, 2:5] = 1.0
    align = torch.full((2, 1, 8, 8), 0.6)
    sigmas = torch.linspace(1.0, 0.0, 21)
    clock, background = RegionClock(release=0.9), Schedule(1.0, 0.0, 0.5)
    model = [torch.randn(2, 4, 8, 8, generator=gen) * 3 for _ in range(20)]  # any prediction, fresh every step

    def pinned(x, i, s):
        w = clock.weight(region, align, 1.0 - s, background)
        return model[i] if w is None else pull(model[i], target, w, 1.0)

    inside = region.expand_as(eps).bool()
    for i, x in enumerate(_flow_euler(eps, sigmas, pinned)):
        s_next, progress = float(sigmas[i + 1]), 1.0 - float(sigmas[i])
        reference = (1 - s_next) * target + s_next * eps
        if progress <= 0.9:
            torch.testing.assert_close(x[inside], reference[inside], atol=1e-5, rtol=0)
        if i == 19:  # released for the last steps: the model's own
            assert float((x - reference)[inside].abs().amax()) > 0.1
    # Background pinned with weight 0.6 until 0.5: toward the reference but not on it. Euler is linear in the
    # predictions and a run predicting T stays on the noised reference, so after step 9 (σ 0.5) the background is
    # exactly 60 % of the way from the model's own run to the reference.
    x_mid = _flow_euler(eps, sigmas, pinned)[9]
    alone = _flow_euler(eps, sigmas, lambda x, i, s: model[i])[9]
    reference = (1 - 0.5) * target + 0.5 * eps
    towards = alone + 0.6 * (reference - alone)
    torch.testing.assert_close(x_mid[~inside], towards[~inside], atol=1e-5, rtol=0)
    assert float((x_mid - reference)[~inside].abs().amax()) > 0.1

    # Control: a background clock that never acts leaves the model's own run, which the check above rejects.
    def region_only(x, i, s):
        w = clock.weight(region, align, 1.0 - s, Schedule(0.0, 0.0, 0.5))
        return model[i] if w is None else pull(model[i], target, w, 1.0)

    x_idle = _flow_euler(eps, sigmas, region_only)[9]
    assert float((x_idle - towards)[~inside].abs().amax()) > 1.0

    def residual(x, i, s):
        return pull(model[i], target, region, 0.5)

    x = _flow_euler(eps, sigmas, residual)[9]
    reference = (1 - float(sigmas[10])) * target + float(sigmas[10]) * eps
    assert float((x - reference)[inside].abs().amax()) > 0.5


def test_region_clock_weights():
    region, align = torch.tensor([1.0, 0.0]), torch.tensor([0.5, 0.5])
    clock, bg = RegionClock(0.9), Schedule(0.8, 0.0, 0.5)
    assert clock.weight(region, align, 0.3, bg).tolist() == pytest.approx([1.0, 0.4])
    assert clock.weight(region, align, 0.7, bg).tolist() == [1.0, 0.0]
    assert clock.weight(region, align, 0.95, bg) is None
    with pytest.raises(ValueError, match="release"):
        RegionClock(1.5)
