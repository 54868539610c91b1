"""core.instructions: each role wins where the user put it (the composition rule), checked against expectations
written role by role in devkit.scenes, with the old mean-of-targets rule as the control that fails."""

import pytest
import torch

from comfyui_interactivevideo.core.blend import pull
from comfyui_interactivevideo.core.instructions import Align, InstructionError, Paint, compose
from comfyui_interactivevideo.devkit import scenes
from comfyui_interactivevideo.devkit.scenes import FRAMES

COMBINATIONS = [
    {"paint"},
    {"drag"},
    {"paint", "align"},
    {"drag", "align"},
    {"paint", "drag", "align"},
    {"paint", "drag"},
    {"align"},
]


def blend_by_rule(sc: scenes.Scene, roles: set[str], strength: float = 1.0) -> torch.Tensor:
    composed = compose(
        FRAMES,
        image=sc.image if roles == {"drag"} else None,
        paints=[sc.paint()] if "paint" in roles else [],
        flow=sc.flow() if "drag" in roles else None,
        align=sc.align() if "align" in roles else None,
    )
    return pull(sc.video, composed.target, composed.weight, strength)


@pytest.mark.parametrize("roles", COMBINATIONS, ids=lambda r: "+".join(sorted(r)))
def test_each_instruction_wins_where_the_user_put_it(roles):
    sc = scenes.scene()
    torch.testing.assert_close(blend_by_rule(sc, roles), sc.expected(roles), atol=1e-4, rtol=0)


def test_what_the_user_sees_inside_paint_drag_and_elsewhere():
    """The contract in plain terms for paint + drag + align at strength 1."""
    sc = scenes.scene()
    out = blend_by_rule(sc, {"paint", "drag", "align"})
    edited = sc.edited()
    for f in range(FRAMES):
        paint_here = scenes.shift(sc.paint_region, f).bool()
        drag_only = sc.dragged[f].bool() & ~paint_here
        elsewhere = ~(paint_here | sc.dragged[f].bool())
        moved = scenes.shift(edited, f)
        torch.testing.assert_close(out[f][:, paint_here], scenes.shift(sc.painted[0], f)[:, paint_here])
        torch.testing.assert_close(out[f][:, drag_only], scenes.shift(sc.image[0], f)[:, drag_only])
        a = float(sc.affinity[f])
        torch.testing.assert_close(
            out[f][:, elsewhere], ((1 - a) * sc.video[f] + a * moved)[:, elsewhere], atol=1e-4, rtol=0
        )


@pytest.mark.parametrize("roles", [{"paint", "align"}, {"drag", "align"}, {"paint", "drag", "align"}])
def test_control_the_mean_of_targets_rule_fails_the_same_check(roles):
    sc = scenes.scene()
    old = scenes.mean_rule(sc, roles)
    with pytest.raises(AssertionError):
        torch.testing.assert_close(old, sc.expected(roles), atol=1e-4, rtol=0)
    # Measured as the issue put it: inside the paint (frame 0, no drag) the old rule showed half the paint.
    if roles == {"paint", "align"}:
        m = sc.paint_region.bool()
        share = (old[0] - sc.video[0])[:, m] / (sc.painted[0] - sc.video[0])[:, m]
        assert float(share.median()) < 0.75


def test_strength_scales_every_pull():
    sc = scenes.scene()
    roles = {"paint", "drag", "align"}
    torch.testing.assert_close(blend_by_rule(sc, roles, 0.3), sc.expected(roles, 0.3), atol=1e-4, rtol=0)
    assert torch.equal(blend_by_rule(sc, roles, 0.0), sc.video)


def test_a_drag_on_its_own_moves_the_given_image_and_needs_one():
    sc = scenes.scene()
    composed = compose(FRAMES, image=sc.image, flow=sc.flow())
    for f in range(FRAMES):
        inside = sc.dragged[f].bool()
        torch.testing.assert_close(composed.target[f][:, inside], scenes.shift(sc.image[0], f)[:, inside])
        assert torch.equal(composed.weight[f, 0], sc.dragged[f])
    with pytest.raises(InstructionError, match="VAE Encode"):
        compose(FRAMES, flow=sc.flow())


def test_nothing_to_do_and_mismatched_inputs():
    sc = scenes.scene()
    assert compose(FRAMES, image=sc.image) is None
    with pytest.raises(InstructionError, match="3 frames but the latent has 4"):
        compose(FRAMES, align=Align(image=sc.image, affinity=torch.ones(3)))
    other = Paint(original=torch.zeros(1, 4, 8, 8), painted=torch.zeros(1, 4, 8, 8), region=torch.ones(1, 1, 8, 8))
    with pytest.raises(InstructionError, match="same image"):
        compose(FRAMES, paints=[sc.paint()], align=Align(image=torch.zeros(1, 4, 8, 8), affinity=torch.ones(4)))
    with pytest.raises(InstructionError, match="different sizes"):
        compose(FRAMES, paints=[sc.paint(), other])


def test_later_paint_covers_earlier_and_regions_union():
    image = torch.zeros(1, 1, 1, 3)
    a = Paint(original=image, painted=torch.full_like(image, 2.0), region=torch.tensor([[[[1.0, 1.0, 0.0]]]]))
    b = Paint(original=image, painted=torch.full_like(image, 4.0), region=torch.tensor([[[[0.0, 1.0, 0.5]]]]))
    composed = compose(1, paints=[a, b])
    assert composed.target.flatten().tolist() == [2.0, 4.0, 2.0]
    assert composed.weight.flatten().tolist() == [1.0, 1.0, 0.5]


def test_the_sweep_is_every_place_paint_or_drag_acts_at_any_frame_and_a_tolerance_is_carried():
    """An alignment that lets go of free motion ('keep') still holds wherever paint or drag act at some frame: the
    dragged region at every frame (the place it leaves included) and the moved paint."""
    sc = scenes.scene()
    align = Align(image=sc.image, affinity=sc.affinity, tolerance=0.5)
    composed = compose(FRAMES, paints=[sc.paint()], flow=sc.flow(), align=align)
    expected = torch.zeros_like(sc.paint_region)
    for f in range(FRAMES):
        expected = torch.maximum(expected, torch.maximum(sc.dragged[f], scenes.shift(sc.paint_region, f)))
    torch.testing.assert_close(composed.sweep[0, 0], expected, atol=1e-6, rtol=0)
    assert bool((expected > 0).any()) and not bool((sc.dragged[0] >= expected).all())  # frame 0 alone is not it
    assert composed.tolerance == 0.5
    assert compose(FRAMES, paints=[sc.paint()], align=sc.align()).tolerance == 0.0
    with pytest.raises(ValueError, match="tolerance must be >= 0"):
        Align(image=sc.image, affinity=sc.affinity, tolerance=-1.0)


def test_the_moved_videos_latent_is_the_target_outside_the_moved_paint():
    """'moved' (Motion Preview's frames through the VAE) replaces the latent-moved image as the target, except inside
    the moved paint, which shows the paint whatever the preview showed; the regions are unchanged. Control: without
    it the target there is the latent-moved image, far from 'moved'."""
    sc = scenes.scene()
    moved = 5 * torch.randn(sc.video.shape, generator=torch.Generator().manual_seed(3))
    roles = dict(paints=[sc.paint()], flow=sc.flow(), align=sc.align())
    given, plain = compose(FRAMES, moved=moved, **roles), compose(FRAMES, **roles)
    for f in range(FRAMES):
        paint_here = scenes.shift(sc.paint_region, f).bool()
        torch.testing.assert_close(given.target[f][:, paint_here], scenes.shift(sc.painted[0], f)[:, paint_here])
        torch.testing.assert_close(given.target[f][:, ~paint_here], moved[f][:, ~paint_here])
        assert float((plain.target[f] - moved[f])[:, ~paint_here].abs().mean()) > 1.0
    torch.testing.assert_close(given.weight, plain.weight)
    with pytest.raises(InstructionError, match="no flow is connected"):
        compose(FRAMES, moved=moved, paints=[sc.paint()])
    with pytest.raises(InstructionError, match=r"'moved' is \(3, 4, 16, 16\)"):
        compose(FRAMES, moved=moved[:3], **roles)
