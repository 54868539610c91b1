"""Motion-module files: format detection from the real files' keys (manifests), refusals, placement, building."""

import pytest
import torch

from comfyui_interactivevideo.core.motion_weights import (
    MotionModuleFormatError,
    build_motion_modules,
    motion_module_from_state_dict,
    placement,
)
from comfyui_interactivevideo.devkit import animatediff as ad


def meta_state(name: str) -> dict[str, torch.Tensor]:
    """The manifest's tensors without memory (detection only looks at keys and shapes); pe kept real."""
    return {
        k: ad.sinusoid(s[1], s[2]) if k.endswith("pos_encoder.pe") else torch.empty(s, device="meta")
        for k, s in ad.manifest(name).items()
    }


@pytest.mark.parametrize(
    "name,fmt,blocks,mid",
    [("mm_sd_v15_v2", "v2", 21, True), ("v3_sd15_mm", "v3", 20, False), ("pia", "pia", 20, False)],
)
def test_real_files_are_recognised(name, fmt, blocks, mid):
    w = motion_module_from_state_dict(meta_state(name), name)
    assert (w.format, w.pe_length, len(w.blocks), w.has_mid_block) == (fmt, 32, blocks, mid)
    assert (w.conv_in is not None) == (fmt == "pia")
    assert len(w.state_dict) == len(ad.manifest(name)) - (2 if fmt == "pia" else 0)
    assert w.ignored == ()


def test_v1_is_told_apart_from_v3_by_its_24_frame_encoding():
    sd = {k: ad.sinusoid(24, v.shape[2]) if k.endswith(".pe") else v for k, v in meta_state("v3_sd15_mm").items()}
    w = motion_module_from_state_dict(sd)
    assert (w.format, w.pe_length) == ("v1", 24)


def test_a_file_without_positional_encoding_gets_the_standard_64_frame_sinusoid():
    sd = {k: v for k, v in meta_state("v3_sd15_mm").items() if not k.endswith(".pe")}  # AnimateLCM ships none
    w = motion_module_from_state_dict(sd)
    assert (w.format, w.pe_length) == ("v3", 64)
    pe = w.state_dict[
        "up_blocks.0.motion_modules.2.temporal_transformer.transformer_blocks.0.attention_blocks.1.pos_encoder.pe"
    ]
    assert torch.equal(pe, ad.sinusoid(64, 1280))


def test_pia_full_unet_keys_are_ignored_not_fatal():
    sd = meta_state("pia") | {"down_blocks.0.resnets.0.conv1.weight": torch.empty(320, 320, 3, 3, device="meta")}
    w = motion_module_from_state_dict(sd)
    assert w.format == "pia" and w.ignored == ("down_blocks.0.resnets.0.conv1.weight",)


def test_dataparallel_prefix_is_accepted():
    w = motion_module_from_state_dict({f"module.{k}": v for k, v in meta_state("mm_sd_v15_v2").items()})
    assert w.format == "v2"


def sdxl_like() -> dict[str, torch.Tensor]:
    """AnimateDiff-SDXL's layout: three down blocks (320, 640, 1280) and three up blocks."""
    return {k: v for k, v in meta_state("v3_sd15_mm").items() if not k.startswith(("down_blocks.3", "up_blocks.3"))}


@pytest.mark.parametrize(
    "state,match",
    [
        (sdxl_like, "SDXL motion module"),
        (lambda: {"down_blocks.1.temporal_attentions.0.proj_in.weight": torch.empty(2)}, "HotshotXL"),
        (lambda: {"model.diffusion_model.input_blocks.0.0.weight": torch.empty(2)}, "models/checkpoints"),
        (lambda: {"lora_unet_down_blocks_0.lora_down.weight": torch.empty(2)}, "a LoRA"),
        (lambda: {"conv_in.weight": torch.empty(2), "down_blocks.0.resnets.0.x": torch.empty(2)}, "without motion"),
    ],
)
def test_files_that_are_not_sd15_motion_modules_are_refused_by_what_they_are(state, match):
    with pytest.raises(MotionModuleFormatError, match=match) as e:
        motion_module_from_state_dict(state(), "file.safetensors")
    assert "file.safetensors" in str(e.value) and "Supported" in str(e.value)


def test_a_truncated_file_names_what_is_missing():
    sd = meta_state("mm_sd_v15_v2")
    for k in list(sd)[-40:]:
        del sd[k]
    with pytest.raises(MotionModuleFormatError, match=r"incomplete AnimateDiff v2.*40 of 588.*download it again"):
        motion_module_from_state_dict(sd, "mm.ckpt")


def test_a_wrong_shape_is_named():
    sd = meta_state("v3_sd15_mm")
    key = "down_blocks.1.motion_modules.0.temporal_transformer.proj_in.weight"
    sd[key] = torch.empty(640, 320, device="meta")
    with pytest.raises(MotionModuleFormatError, match=r"proj_in.weight has shape \(640, 320\)"):
        motion_module_from_state_dict(sd)


def test_placement_in_comfyui_sd15_unet_matches_the_issue():
    w = motion_module_from_state_dict(meta_state("mm_sd_v15_v2"))
    places = [placement(b) for b in w.blocks]
    assert places == [("input", i) for i in (1, 2, 4, 5, 7, 8, 10, 11)] + [("middle", 0)] + [
        ("output", i) for i in range(12)
    ]


def test_build_shares_the_loaded_tensors():
    w = motion_module_from_state_dict(ad.state_dict("v3_sd15_mm", seed=3))
    modules = build_motion_modules(w)
    mm = modules[("input", 1)]
    key = "down_blocks.0.motion_modules.0.temporal_transformer.proj_in.weight"
    assert mm.temporal_transformer.proj_in.weight.data_ptr() == w.state_dict[key].data_ptr()


def test_a_file_with_every_v3_key_but_wrong_shapes_is_named_not_an_index_error():
    state = {k: torch.zeros(1) for k in meta_state("v3_sd15_mm")}
    with pytest.raises(MotionModuleFormatError, match=r"bad\.safetensors: .*pos_encoder\.pe has shape \(1,\)"):
        motion_module_from_state_dict(state, "bad.safetensors")
    # Encodings right, everything else wrong: the first mis-shaped tensor is named with both shapes.
    state = {k: v if k.endswith("pos_encoder.pe") else torch.zeros(2, 2) for k, v in meta_state("v3_sd15_mm").items()}
    with pytest.raises(MotionModuleFormatError, match=r"has shape \(2, 2\), an SD1\.5 motion module has"):
        motion_module_from_state_dict(state, "bad.safetensors")


@pytest.mark.parametrize("cut", [0.3, 0.5, 0.9])
def test_a_truncated_v3_file_is_called_incomplete_not_sdxl(cut):
    state = meta_state("v3_sd15_mm")
    keys = list(state)[: int(len(state) * cut)]  # a download cut short keeps the file's first tensors
    with pytest.raises(MotionModuleFormatError, match="incomplete") as e:
        motion_module_from_state_dict({k: state[k] for k in keys}, "partial.ckpt")
    assert "SDXL" not in str(e.value)
