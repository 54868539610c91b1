"""core.frames: pixel frames ↔ latent frames (identity for image VAEs, the causal 1 + 4k layout for Wan), and the
instructions composed for 5-D video latents through it, against expectations written latent frame by latent frame
in devkit.scenes (a linear resampling in time, the pack's old way, as the control that fails)."""

import pytest
import torch

from comfyui_interactivevideo.core.blend import pull
from comfyui_interactivevideo.core.flow import Flow
from comfyui_interactivevideo.core.frames import (
    IDENTITY,
    STILL_CODES,
    FrameCountError,
    FrameMapping,
    mapping_for_counts,
    still_pixel_frames,
)
from comfyui_interactivevideo.core.instructions import InstructionError, compose
from comfyui_interactivevideo.devkit import scenes

WAN = FrameMapping(4)


def test_the_causal_layout_as_the_issue_states_it():
    """Latent frame 0 ↔ pixel frame 0, latent frame k ≥ 1 ↔ pixel frames 4k−3 … 4k; 81 frames ↔ 21 latent frames."""
    assert list(WAN.pixel_frames_of(0)) == [0]
    for k in range(1, 21):
        assert list(WAN.pixel_frames_of(k)) == [4 * k - 3, 4 * k - 2, 4 * k - 1, 4 * k]
        assert all(WAN.latent_frame_of(f) == k for f in WAN.pixel_frames_of(k))
    assert WAN.latent_count(81) == 21 and WAN.pixel_count(21) == 81
    assert WAN.latent_count(1) == 1 and WAN.latent_count(4) == 1 and WAN.latent_count(5) == 2  # as the VAE drops
    assert still_pixel_frames(WAN) == 9 and STILL_CODES == 3
    assert IDENTITY.latent_count(16) == 16 and list(IDENTITY.pixel_frames_of(5)) == [5]


def test_to_latent_reduces_each_group():
    values = torch.arange(13, dtype=torch.float32).view(13, 1)
    assert WAN.to_latent(values, "mean").flatten().tolist() == [0.0, 2.5, 6.5, 10.5]
    assert WAN.to_latent(values, "max").flatten().tolist() == [0.0, 4.0, 8.0, 12.0]
    # Trailing frames that do not fill a group are dropped, as the VAE drops them.
    assert WAN.to_latent(torch.arange(15.0).view(15, 1), "max").flatten().tolist() == [0.0, 4.0, 8.0, 12.0]
    assert torch.equal(IDENTITY.to_latent(values, "mean"), values)


def test_fit_and_expand_codes_accept_what_a_user_can_connect_and_name_the_fix_otherwise():
    assert WAN.fit(torch.ones(1, 2), 4, "x", "mean").shape == (4, 2)  # one frame: broadcast
    assert WAN.fit(torch.ones(4, 2), 4, "x", "mean").shape == (4, 2)  # already per latent frame
    assert WAN.fit(torch.ones(13, 2), 4, "x", "mean").shape == (4, 2)  # per pixel frame
    with pytest.raises(FrameCountError, match="make it with 13 frames"):
        WAN.fit(torch.ones(10, 2), 4, "the flow", "mean")
    with pytest.raises(FrameCountError, match="make it with 4 frames"):
        IDENTITY.fit(torch.ones(13, 2), 4, "the flow", "mean")
    codes = torch.arange(3.0).view(3, 1)
    assert WAN.expand_codes(codes, 6, "c").flatten().tolist() == [0.0, 1.0, 2.0, 2.0, 2.0, 2.0]
    with pytest.raises(FrameCountError, match="one image"):
        IDENTITY.expand_codes(codes, 6, "c")
    assert mapping_for_counts(81, 21) == WAN and mapping_for_counts(16, 16) == IDENTITY
    assert mapping_for_counts(97, 13) == FrameMapping(8)
    with pytest.raises(FrameCountError, match="give 81 frames"):
        mapping_for_counts(50, 21)


def blend(sc: scenes.VideoScene, roles: set[str], mapping: FrameMapping = WAN, strength: float = 1.0) -> torch.Tensor:
    frames = sc.video.shape[2]
    composed = compose(
        frames,
        image=sc.codes if roles == {"drag"} else None,
        paints=[sc.paint()] if "paint" in roles else [],
        flow=sc.flow() if "drag" in roles else None,
        align=sc.align() if "align" in roles else None,
        mapping=mapping,
    )
    frames_view = sc.video[0].transpose(0, 1)
    return pull(frames_view, composed.target, composed.weight, strength).transpose(0, 1).unsqueeze(0)


ROLES = [{"paint"}, {"drag"}, {"align"}, {"paint", "align"}, {"drag", "align"}, {"paint", "drag", "align"}]


@pytest.mark.parametrize("channels,scale", [(16, 8), (48, 16)], ids=["wan21-16ch", "wan22-ti2v-48ch"])
@pytest.mark.parametrize("roles", ROLES, ids=lambda r: "+".join(sorted(r)))
def test_each_instruction_lands_in_every_latent_frame_per_the_causal_mapping(roles, channels, scale):
    sc = scenes.video_scene(channels, scale=scale)
    torch.testing.assert_close(blend(sc, roles), sc.expected(roles), atol=1e-4, rtol=0)
    torch.testing.assert_close(blend(sc, roles, strength=0.4), sc.expected(roles, 0.4), atol=1e-4, rtol=0)


def test_control_linear_resampling_in_time_misses_the_expectation():
    """The old way for 5-D latents: 13 pixel frames resampled linearly to 4 latent frames (times 0, 4, 8, 12), one
    still code for every frame. The drag lands half a cell off, the drag weight of groups is lost."""
    sc = scenes.video_scene()
    flow = sc.flow()
    pos = torch.linspace(0, 12, 4).long()
    resampled = Flow(flow.flow[pos], flow.weight[pos])
    composed = compose(4, image=sc.codes[:1], flow=resampled)
    out = pull(sc.video[0].transpose(0, 1), composed.target, composed.weight, 1.0).transpose(0, 1).unsqueeze(0)
    error = (out - sc.expected({"drag"})).abs().amax()
    assert float(error) > 1.0
    # The mapping's own composition of the same drag meets it (see above); and the region is lost by linear picks.
    assert float(composed.weight[1:].amax()) == 0.0


def test_frame_counts_that_do_not_fit_are_refused_with_the_fix():
    sc = scenes.video_scene()
    flow = sc.flow()
    short = Flow(flow.flow[:10], flow.weight[:10])
    with pytest.raises(InstructionError, match="13 frames, the video's length"):
        compose(4, image=sc.codes, flow=short, mapping=WAN)
    with pytest.raises(InstructionError, match="one image"):
        compose(5, image=torch.zeros(2, 16, 16, 16), flow=sc.flow(), mapping=WAN)
