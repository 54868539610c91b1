"""The motion module's math: positional encoding, clips kept apart, effect, motion scale, slicing."""

import pytest
import torch

from comfyui_interactivevideo.core.motion_module import MotionModule, sinusoidal_encoding
from comfyui_interactivevideo.core.motion_weights import build_motion_modules, motion_module_from_state_dict
from comfyui_interactivevideo.devkit import animatediff as ad


def test_positional_encoding_is_diffusers_sinusoid():
    from diffusers.models.embeddings import SinusoidalPositionalEmbedding

    assert torch.allclose(sinusoidal_encoding(32, 320), SinusoidalPositionalEmbedding(320, 32).pe)


@pytest.fixture(scope="module")
def v3_modules():
    w = motion_module_from_state_dict(ad.state_dict("v3_sd15_mm", seed=3))
    return w, build_motion_modules(w)


def test_clips_in_one_batch_do_not_see_each_other(v3_modules):
    mm = v3_modules[1][("input", 1)]
    a, b = torch.randn(2, 8, 320, 4, 4).unbind(0)
    both = mm(torch.cat([a, b]), groups=2)
    assert torch.allclose(both[:8], mm(a), atol=1e-5) and torch.allclose(both[8:], mm(b), atol=1e-5)
    # frames do see each other within a clip
    a2 = a.clone()
    a2[5] += 1
    assert not torch.allclose(mm(a2)[0], mm(a)[0], atol=1e-4)


def test_effect_blends_the_temporal_update(v3_modules):
    mm = v3_modules[1][("output", 3)]
    x = torch.randn(8, 1280, 2, 2)
    full = mm(x)
    mm.effect = 0.0
    assert torch.equal(mm(x), x)
    mm.effect = 0.25
    assert torch.allclose(mm(x), x + 0.25 * (full - x), atol=1e-5)
    mm.effect = 1.0


def test_motion_scale_multiplies_the_attention_logits(v3_modules):
    mm = v3_modules[1][("input", 4)]
    seen = []

    def attention(q, k, v, heads):
        seen.append(q.clone())
        return v

    mm.attention, x = attention, torch.randn(4, 640, 2, 2)
    mm(x)
    mm.scale = 2.0
    mm(x)
    mm.scale, mm.attention = 1.0, v3_modules[1][("input", 1)].attention
    assert torch.allclose(seen[2], 2 * seen[0]) and torch.allclose(seen[3], 2 * seen[1])


def test_more_frames_than_the_encoding_asks_for_context_windows(v3_modules):
    mm = v3_modules[1][("input", 10)]
    with pytest.raises(ValueError, match="33 frames per clip exceed.*32.*Context Windows"):
        mm(torch.randn(33, 1280, 1, 1))


def test_injected_layer_classes_are_used():
    class Ops:
        class Linear(torch.nn.Linear):
            pass

        LayerNorm, GroupNorm = torch.nn.LayerNorm, torch.nn.GroupNorm

    mm = MotionModule(320, 32, Ops)
    assert isinstance(mm.temporal_transformer.proj_in, Ops.Linear)


def test_feed_forward_in_slices_of_positions_equals_one_pass(v3_modules, monkeypatch):
    import comfyui_interactivevideo.core.motion_module as motion_module

    mm = v3_modules[1][("input", 1)]
    x = torch.randn(8, 320, 6, 6)  # 36 positions of 8 frames
    with torch.no_grad():
        whole = mm(x)
    calls = []
    proj = mm.temporal_transformer.transformer_blocks[0].ff.net[0].proj
    hook = proj.register_forward_hook(lambda module, args, out: calls.append(args[0].shape[0]))
    monkeypatch.setattr(motion_module, "FF_CHUNK_ELEMENTS", 5 * 8 * 8 * 320)  # 5 positions per slice
    try:
        with torch.no_grad():
            sliced = mm(x)
        assert calls == [5] * 7 + [1]
        assert torch.allclose(sliced, whole, atol=1e-5)
        # with gradients (training a LoRA on the module, say) the same values and a gradient for every input
        xg = x.clone().requires_grad_()
        out = mm(xg)
        out.square().sum().backward()
    finally:
        hook.remove()
    assert torch.allclose(out.detach(), whole, atol=1e-5)
    assert xg.grad is not None and torch.isfinite(xg.grad).all() and (xg.grad.abs().sum((1, 2, 3)) > 0).all()
