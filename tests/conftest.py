"""Three layers, one run: tests/core (pure), tests/comfy (in-process ComfyUI), tests/e2e (a real server and
browser). Each test gets its layer's marker from its folder, so `-m core` and friends select a layer.

The marker `matrix` picks what the version matrix runs again on the newer ComfyUI (.ci/run's 0.33.0 leg, `-m
matrix`): what can differ between ComfyUI versions. The tests MATRIX names get it (a module, or a test id's
beginning), so does the whole browser layer (the page). Left out: what only repeats on the newer version what the
floor shows (the pack's own math through stable APIs, the guider on the full-size UNet, server runs that other
runs cover, workflows saved by earlier releases of the pack)."""

from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent

LAYERS = ("core", "comfy", "e2e")

MATRIX = (
    # ModelPatcher hooks and sampling internals: motion modules in ComfyUI's UNet and their numbers (PIA's case holds
    # every module type but v2's mid block, the same type), loading through comfy.utils (whose safety rules change),
    # context windows, post-CFG patches, the guider
    "comfy/test_animatediff.py",
    "comfy/test_animatediff_parity.py::test_unet_forward_and_sampler_step_match_diffusers[pia]",
    "comfy/test_guider_flow_noise.py",
    "comfy/test_guider_sampler.py",
    "comfy/test_instructions.py",
    "comfy/test_wan_instructions.py",
    # model detection, latent formats, VAEs, core nodes and types (TRACKS) the pack uses
    "comfy/test_harness_models.py",
    "comfy/test_paint.py",
    "comfy/test_trajectory_nodes.py",
    "comfy/test_wan_models.py",
    # the committed small Wan model's files through the loaders' detection (which grows with every Wan variant)
    "comfy/test_tiny_wan.py::test_vae_file_loads_as_wan21_vae",
    "comfy/test_tiny_wan.py::test_dit_file_loads_as_wan21_image_to_video",
    # schemas: registration, input checks on the executor's locked clones, workflows, the README's node reference
    "comfy/test_bad_inputs.py",
    "comfy/test_readme_reference.py",
    "comfy/test_registration.py",
    "comfy/test_workflows.py",
    # the server: routes, validation (newer ComfyUI refuses some values itself), the shipped graphs' core nodes
    "e2e/test_bad_inputs_e2e.py",
    "e2e/test_core_tracks_e2e.py",
    "e2e/test_preview_route.py",
    "e2e/test_server.py",
    "e2e/test_trajectory_e2e.py",
    "e2e/test_wan_server.py",
    "e2e/test_wan_workflow_e2e.py",
    "e2e/test_workflows_e2e.py::test_shipped_workflow_runs_and_writes_its_files[interactivevideo_",
)


def in_matrix(nodeid: str) -> bool:
    """``nodeid`` relative to tests/ ("comfy/test_x.py::test_y[z]"): a module MATRIX names, or a test id it begins."""
    module = nodeid.split("::", 1)[0]
    return any(module == entry or ("::" in entry and nodeid.startswith(entry)) for entry in MATRIX)


def pytest_collection_modifyitems(config, items):
    for item in items:
        path = Path(str(item.fspath)).resolve().relative_to(TESTS)
        parts = path.parts
        if parts and parts[0] in LAYERS:
            item.add_marker(getattr(pytest.mark, parts[0]))
        if "browser" in parts:
            item.add_marker(pytest.mark.browser)
        test = item.nodeid.split("::", 1)[1] if "::" in item.nodeid else ""
        if "browser" in parts or in_matrix(f"{path.as_posix()}::{test}"):
            item.add_marker(pytest.mark.matrix)


def pytest_terminal_summary(terminalreporter):
    counts = {layer: 0 for layer in LAYERS}
    for report in terminalreporter.stats.get("passed", []):
        parts = Path(report.nodeid.split("::")[0]).parts
        layer = parts[1] if len(parts) > 1 and parts[0] == "tests" else (parts[0] if parts else "")
        if layer in counts:
            counts[layer] += 1
    terminalreporter.write_line("passed per layer: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
