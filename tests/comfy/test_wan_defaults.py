"""The shipped Wan workflow's schedule agrees with the docs' advice: under its shift and step count the instructions
hold through the steps that decide the picture and leave the last step to the model (docs/method.md, "Schedules
in σ"), as the SD1.5 default leaves its last steps.

Which steps act is worked out with the code the node runs (the shifted model's sampling, ComfyUI's `simple`
schedule, the pack's σ progress and core.blend.Schedule). Control: the node's own default end_percent, 0.8, under
shift 8 instructs every one of the 20 steps. Runtime well under a second (a tiny Wan DiT).
"""

import comfy.samplers

import nodes
from comfyui_interactivevideo.core.blend import Schedule
from comfyui_interactivevideo.devkit import pipeline, wan
from comfyui_interactivevideo.nodes.comfy_internals.sampling import sigma_progress

NAME = "interactivevideo_wan_drag_and_paint"


def acting_steps(shift: float, steps: int, scheduler: str, start: float, end: float) -> list[bool]:
    """For each step of the run, whether the instructions act on its prediction (at the step's σ)."""
    model = nodes.NODE_CLASS_MAPPINGS["ModelSamplingSD3"]().patch(wan.build_wan("i2v", seed=0), shift)[0]
    sampling = model.get_model_object("model_sampling")
    sigmas = comfy.samplers.calculate_sigmas(sampling, scheduler, steps)
    schedule = Schedule(1.0, start, end)
    return [schedule.at(sigma_progress(sampling, float(s))) > 0 for s in sigmas[:-1]]


def models_own(acting: list[bool]) -> int:
    """How many steps at the end of the run are the model's alone."""
    return len(acting) - (max(i for i, a in enumerate(acting) if a) + 1)


def test_the_wan_workflow_leaves_its_last_steps_to_the_model(pack):
    prompt = pipeline.api_prompt(NAME)
    by = pipeline.by_title(prompt)
    inputs = {title: prompt[node]["inputs"] for title, node in by.items()}
    (shift,) = {inputs[f"Shift ({s} noise)"]["shift"] for s in ("high", "low")}
    applied = [inputs[f"Apply instructions ({s} noise)"] for s in ("high", "low")]
    assert applied[0] == {**applied[1], "model": applied[0]["model"]}  # both experts carry the same settings
    sampler = inputs["Sample high noise"]
    acting = acting_steps(
        shift, sampler["steps"], sampler["scheduler"], applied[0]["start_percent"], applied[0]["end_percent"]
    )
    assert all(acting[: sampler["steps"] // 2])  # the high-noise expert's steps, which lay out the motion, are held
    assert 1 <= models_own(acting) <= sampler["steps"] // 4, acting  # the last step, from σ 0.30, is the model's
    # Control: the node's default under this shift instructs every step; the video would end on a blend.
    assert models_own(acting_steps(shift, sampler["steps"], sampler["scheduler"], 0.0, 0.8)) == 0


def test_both_experts_take_the_drags_target_as_the_wan_vae_encodes_the_motion_preview(pack):
    """Without `moved` the dragged thing ends ~3 % of the width short of its track (docs/benchmarks.md)."""
    prompt = pipeline.api_prompt(NAME)
    by = pipeline.by_title(prompt)
    preview = prompt[by["Motion preview"]]["inputs"]
    for stage in ("high", "low"):
        applied = prompt[by[f"Apply instructions ({stage} noise)"]]["inputs"]
        encoder = prompt[applied["moved"][0]]
        assert encoder["class_type"] == "VAEEncode"
        assert encoder["inputs"]["pixels"] == [by["Motion preview"], 0]
        assert encoder["inputs"]["vae"] == prompt[by["Wan image to video"]]["inputs"]["vae"]
        assert preview["flow"] == applied["flow"]  # the preview moves the picture by the flow the expert follows
