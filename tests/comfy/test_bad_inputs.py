"""Every input of every node refuses what it cannot use with a message naming the node and the input.

The inputs are enumerated from the schemas: a new FLOAT, INT, COMBO or STRING input is covered with no edit here.
"""

from __future__ import annotations

import math
import os
import threading
import time

import comfy.model_management
import folder_paths
import pytest
import torch
from comfy_api.latest import io

from comfyui_interactivevideo.core.trajectory import parse_tracks
from comfyui_interactivevideo.devkit import comfy_env
from comfyui_interactivevideo.nodes import NODES, checks
from comfyui_interactivevideo.nodes import comfy_internals as ci
from comfyui_interactivevideo.nodes import trajectory as trajectory_nodes

comfy_env.boot()

PRIMITIVES = (io.Float.Input, io.Int.Input, io.Combo.Input, io.String.Input, io.Boolean.Input)


def schema(cls):
    return cls.GET_SCHEMA()


def valid_inputs(cls) -> dict:
    """Defaults for every widget input, a stand-in object for every required connection."""
    values = {}
    for spec in schema(cls).inputs:
        if isinstance(spec, io.Combo.Input):
            options = list(spec.options or [])
            if spec.default is not None or options:
                values[spec.id] = spec.default if spec.default is not None else options[0]
        elif isinstance(spec, PRIMITIVES):
            default = spec.default
            if default is None:
                default = {io.Float.Input: 0.0, io.String.Input: "", io.Boolean.Input: False}.get(type(spec))
                default = getattr(spec, "min", None) if default is None else default
            values[spec.id] = default
        elif not spec.optional:
            values[spec.id] = object()
    return values


def inputs_of(kind) -> list:
    return [
        pytest.param(cls, spec.id, id=f"{schema(cls).node_id}.{spec.id}")
        for cls in NODES
        for spec in schema(cls).inputs
        if isinstance(spec, kind)
    ]


def spec_of(cls, name):
    return next(s for s in schema(cls).inputs if s.id == name)


def refused(cls, name, value) -> str:
    values = {**valid_inputs(cls), name: value}
    with pytest.raises(checks.InputError) as e:
        comfy_env.run_node(schema(cls).node_id, **values)
    message = str(e.value)
    assert message.startswith(f"{schema(cls).display_name}: '{name}' "), message
    return message


def test_every_node_checks_its_inputs():
    unchecked = [schema(cls).node_id for cls in NODES if not checks.is_checked(cls)]
    assert not unchecked, f"add @checked under @classmethod on execute of {unchecked}"


@pytest.mark.parametrize("cls", NODES, ids=lambda c: c.__name__)
def test_the_defaults_pass_the_checks(cls):
    # The control: the same enumeration with nothing wrong raises nothing.
    checks.check_inputs(cls, valid_inputs(cls))


@pytest.mark.parametrize("cls,name", inputs_of(io.Float.Input))
@pytest.mark.parametrize("value,words", [(math.nan, "is NaN"), (math.inf, "+infinity"), (-math.inf, "-infinity")])
def test_float_inputs_refuse_non_finite_numbers(cls, name, value, words):
    message = refused(cls, name, value)
    assert words in message and "give a finite number" in message


@pytest.mark.parametrize("cls,name", inputs_of(io.Float.Input) + inputs_of(io.Int.Input))
def test_number_inputs_refuse_values_beyond_their_range_and_other_types(cls, name):
    spec = spec_of(cls, name)
    if spec.max is not None:
        assert "out of range" in refused(cls, name, spec.max + 1)
    if spec.min is not None:
        assert "out of range" in refused(cls, name, spec.min - 1)
    assert "not a" in refused(cls, name, "12")


@pytest.mark.parametrize("cls,name", inputs_of(io.Combo.Input))
def test_combo_inputs_refuse_unknown_choices(cls, name):
    message = refused(cls, name, "bogus")
    assert "'bogus', not one of its choices" in message or "nothing to choose from" in message


@pytest.mark.parametrize("cls,name", inputs_of(io.String.Input))
def test_text_inputs_are_capped(cls, name):
    message = refused(cls, name, "x" * (checks.MAX_TEXT_CHARS + 1))
    assert f"{checks.MAX_TEXT_CHARS:,}" in message


def test_motion_module_choices_are_read_from_the_folder_at_run_time():
    folder = folder_paths.get_folder_paths("animatediff_models")[0]
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "iv-new-file.safetensors")
    open(path, "wb").close()
    try:
        # A file added after start-up is a known choice (and then fails on its contents, not as unknown).
        with pytest.raises(ValueError) as e:
            comfy_env.run_node("IV_LoadMotionModule", motion_module="iv-new-file.safetensors")
        assert "not one of its choices" not in str(e.value) and "iv-new-file.safetensors" in str(e.value)
    finally:
        os.remove(path)
    message = refused(checks_node("IV_LoadMotionModule"), "motion_module", "iv-new-file.safetensors")
    assert "not one of its choices" in message or "nothing to choose from" in message


def checks_node(node_id):
    return next(cls for cls in NODES if schema(cls).node_id == node_id)


def test_an_unsafe_pickle_is_refused_without_torch_advice_on_bypassing_it():

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo unsafe",))

    folder = folder_paths.get_folder_paths("animatediff_models")[0]
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "iv-evil.ckpt")
    torch.save({"x": Evil()}, path)
    try:
        with pytest.raises(ValueError) as e:
            comfy_env.run_node("IV_LoadMotionModule", motion_module="iv-evil.ckpt")
    finally:
        os.remove(path)
    message = str(e.value)
    assert "'iv-evil.ckpt' was refused" in message and "system" in message
    assert "weights_only" not in message and "Re-running" not in message and "trusted source" not in message


# -- size guard and interrupts ---------------------------------------------------------------------


def edited(frames: int, text: str = '{"version": 1, "tracks": []}'):
    return comfy_env.run_node("IV_TrajectoryEditor", tracks=text, frames=frames).result[0]


def flow_inputs(tracks, size):
    return dict(tracks=tracks, width=size, height=size, interpolation="linear", falloff=1.0, radius=0.0)


def test_a_flow_larger_than_free_memory_fails_fast_and_says_what_to_reduce(monkeypatch):
    """Refused before any of the work starts (no flow computed, nothing allocated), checked as an event, not timed."""
    started = []
    monkeypatch.setattr(trajectory_nodes, "tracks_to_flow", lambda *a, **k: started.append(a))
    tracks = edited(4096)
    with pytest.raises(checks.InputError, match="needs about .* GiB of memory.*reduce the frames") as e:
        comfy_env.run_node("IV_TrajectoryToFlow", **flow_inputs(tracks, 8192))
    assert started == []
    assert e.value.args[0].startswith("Trajectory to Flow (IV): a flow of 4096 frames at 8192x8192")


def test_the_size_guard_compares_with_the_free_memory(monkeypatch):
    tracks = edited(16)
    flow, *_ = comfy_env.run_node("IV_TrajectoryToFlow", **flow_inputs(tracks, 64)).result  # control: it fits
    assert flow.flow.shape == (16, 64, 64, 2)
    monkeypatch.setattr(ci, "free_memory", lambda device="cpu": 1 << 20)
    with pytest.raises(checks.InputError, match="only 1 MiB is free"):
        comfy_env.run_node("IV_TrajectoryToFlow", **flow_inputs(tracks, 64))


def test_an_interrupt_stops_a_2000_track_flow_at_its_next_check(monkeypatch):
    """The Cancel button stops a long flow at the first interrupt check after it is pressed (core.flow checks
    between steps of its per-track work, a few milliseconds apart): counted in checks, not timed, so a loaded
    machine cannot fail it. Control: the flow had made 200 checks before the interrupt and was still running."""
    gen = torch.Generator().manual_seed(0)
    points = (torch.rand(2000, 2, 2, generator=gen) * 64).tolist()
    tracks = parse_tracks({"version": 1, "width": 64, "height": 64, "tracks": [{"points": p} for p in points]})
    tracks = edited(16, tracks.to_json())
    outcome, checked = {}, {"before": 0, "after": 0}

    def counted_check():
        checked["after" if comfy.model_management.processing_interrupted() else "before"] += 1
        ci.interrupt_check()

    monkeypatch.setattr(trajectory_nodes, "interrupt_check", counted_check)

    def work():
        try:
            comfy_env.run_node("IV_TrajectoryToFlow", **flow_inputs(tracks, 64))
            outcome["result"] = "finished"
        except comfy.model_management.InterruptProcessingException:
            outcome["result"] = "interrupted"

    thread = threading.Thread(target=work)
    thread.start()
    try:
        deadline = time.monotonic() + 120  # bounds a hang only
        while checked["before"] < 200 and thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert thread.is_alive(), "the 2000-track flow ended before the interrupt: the test shows nothing"
        comfy.model_management.interrupt_current_processing(True)
        thread.join(timeout=120)
    finally:
        comfy.model_management.interrupt_current_processing(False)
    assert outcome.get("result") == "interrupted", outcome
    assert checked["before"] >= 200 and checked["after"] == 1, checked


@pytest.mark.parametrize("cls", NODES, ids=lambda c: c.__name__)
def test_the_checks_run_on_the_locked_clone_comfyui_executes(cls):
    # ComfyUI's executor calls execute on a clone whose class attributes cannot be set (GET_SCHEMA sets some).
    from comfy_api.internal import lock_class

    locked = lock_class(cls.PREPARE_CLASS_CLONE({}))
    checks.check_inputs(locked, valid_inputs(cls))
    floats = [s.id for s in schema(cls).inputs if isinstance(s, io.Float.Input)]
    if floats:
        with pytest.raises(checks.InputError, match=f"'{floats[0]}' is NaN"):
            checks.check_inputs(locked, {**valid_inputs(cls), floats[0]: math.nan})
