"""IV_FlowNoise as ComfyUI's NOISE: statistics at 64×64 latents, flow-following, determinism."""

import pytest
import torch

from comfyui_interactivevideo.core.flow import Flow


def moving_square_flow(frames=8, size=64, scale=8):
    """A 16×16-latent square moving right 2 and down 1 latent pixels per frame; sub-pixel drift elsewhere."""
    flow = torch.zeros(frames, size * scale, size * scale, 2)
    weight = torch.zeros(frames, size * scale, size * scale)
    flow[..., 0] = 0.37 * scale * torch.arange(frames).view(frames, 1, 1) / frames  # slow sub-pixel pan
    for f in range(frames):
        y0, x0 = (10 + f) * scale, (12 + 2 * f) * scale
        flow[f, y0 : y0 + 16 * scale, x0 : x0 + 16 * scale] = torch.tensor([-2.0 * f * scale, -1.0 * f * scale])
        weight[f, y0 : y0 + 16 * scale, x0 : x0 + 16 * scale] = 1
    return Flow(flow, weight)


def test_flow_noise_node_statistics_and_motion(run_node):
    flow = moving_square_flow()
    noise = run_node("IV_FlowNoise", noise_seed=42, flow=flow, variation=0.0).result[0]
    assert noise.seed == 42
    out = noise.generate_noise({"samples": torch.zeros(8, 4, 64, 64)})
    assert out.shape == (8, 4, 64, 64)
    for f in range(8):
        assert abs(float(out[f].mean())) <= 0.02, f
        assert abs(float(out[f].std()) - 1.0) <= 0.02, f
        here = out[f][:, 10 + f : 26 + f, 12 + 2 * f : 28 + 2 * f].flatten()
        there = out[0][:, 10:26, 12:28].flatten()
        assert torch.corrcoef(torch.stack([here, there]))[0, 1] >= 0.95
    again = run_node("IV_FlowNoise", noise_seed=42, flow=flow, variation=0.0).result[0]
    assert torch.equal(again.generate_noise({"samples": torch.zeros(8, 4, 64, 64)}), out)


def test_flow_noise_node_video_latent(run_node):
    """A video latent's frames are the causal VAE's (17 pixel frames, 5 latent frames); a flow whose frame count
    no VAE layout explains is refused with the count that fits."""
    noise = run_node("IV_FlowNoise", noise_seed=1, flow=moving_square_flow(frames=17, size=16), variation=0.2).result[0]
    out = noise.generate_noise({"samples": torch.zeros(1, 4, 5, 16, 16)})
    assert out.shape == (1, 4, 5, 16, 16)
    noise = run_node("IV_FlowNoise", noise_seed=1, flow=moving_square_flow(frames=8, size=16), variation=0.2).result[0]
    with pytest.raises(ValueError, match="give 17 frames"):
        noise.generate_noise({"samples": torch.zeros(1, 4, 5, 16, 16)})
    # A frame-batched latent has one latent frame per pixel frame: nothing to map, the counts must agree.
    with pytest.raises(ValueError, match="IV_FlowNoise: the flow has 8 frames but the latent has 5: make it with 5"):
        noise.generate_noise({"samples": torch.zeros(5, 4, 16, 16)})


def test_still_pixels_renew_their_noise_unless_frozen(run_node):
    flow = moving_square_flow(frames=4, size=32)
    flow.flow[..., :] = torch.where(flow.weight[..., None] > 0, flow.flow, torch.zeros(()))  # no pan: still outside
    latent = {"samples": torch.zeros(4, 4, 32, 32)}
    fresh = run_node("IV_FlowNoise", noise_seed=5, flow=flow, variation=0.0).result[0].generate_noise(latent)
    frozen = run_node("IV_FlowNoise", noise_seed=5, flow=flow, variation=0.0, frozen=True).result[0]
    frozen = frozen.generate_noise(latent)
    corner = (slice(None), slice(0, 6), slice(0, 6))  # far from the square: still
    for f in range(1, 4):
        assert torch.equal(frozen[f][corner], frozen[0][corner])
        a, b = fresh[f][corner].flatten(), fresh[0][corner].flatten()
        assert abs(float(torch.corrcoef(torch.stack([a, b]))[0, 1])) < 0.2
