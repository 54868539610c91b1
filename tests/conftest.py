"""Three layers, one run: tests/core (pure), tests/comfy (in-process ComfyUI), tests/e2e (a real server and
browser). Each test gets its layer's marker from its folder, so `-m core` and friends select a layer."""

from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent

LAYERS = ("core", "comfy", "e2e")


def pytest_collection_modifyitems(config, items):
    for item in items:
        parts = Path(str(item.fspath)).resolve().relative_to(TESTS).parts
        if parts and parts[0] in LAYERS:
            item.add_marker(getattr(pytest.mark, parts[0]))
        if "browser" in parts:
            item.add_marker(pytest.mark.browser)


def pytest_terminal_summary(terminalreporter):
    counts = {layer: 0 for layer in LAYERS}
    for report in terminalreporter.stats.get("passed", []):
        parts = Path(report.nodeid.split("::")[0]).parts
        layer = parts[1] if len(parts) > 1 and parts[0] == "tests" else (parts[0] if parts else "")
        if layer in counts:
            counts[layer] += 1
    terminalreporter.write_line("passed per layer: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
