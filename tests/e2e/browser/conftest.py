"""Headless Chromium (Debian's, driven by Playwright) on the real ComfyUI page served by the e2e server.

Every page opens with Nodes 2.0 (Vue node rendering, the `Comfy.VueNodes.Enabled` setting) off, or on where
IV_VUE_NODES=1; the editor's tests run in both modes (their own `vue_nodes` fixture).

Skipped when no Chromium is installed (`bash scripts/setup.sh --browser` installs it), except where
IV_REQUIRE_BROWSER=1 (CI): there a missing browser is a failure, not a skip.
"""

import os
from pathlib import Path

import pytest

from comfyui_interactivevideo.devkit.browser import chromium_path, launch, open_page

ARTIFACTS = Path(os.environ.get("IV_ARTIFACTS", Path(__file__).resolve().parents[3] / "output" / "test-artifacts"))


def pytest_collection_modifyitems(config, items):
    # A test that parametrizes `vue_nodes` itself opens both renderings in every run; a run for Nodes 2.0 alone
    # (IV_VUE_NODES=1 in .ci/run) has nothing to add to it and deselects it with -m "not both_modes".
    for item in items:
        if "vue_nodes" in getattr(getattr(item, "callspec", None), "params", {}):
            item.add_marker(pytest.mark.both_modes)


@pytest.fixture(scope="session")
def chromium():
    if chromium_path() is None:
        if os.environ.get("IV_REQUIRE_BROWSER") == "1":
            pytest.fail("IV_REQUIRE_BROWSER=1 but no Chromium found: run `bash scripts/setup.sh --browser`")
        pytest.skip("no Chromium: `bash scripts/setup.sh --browser` installs it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = launch(pw)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def vue_nodes() -> bool:
    """Nodes 2.0 on or off for this test's page (the server keeps the setting: every page states it)."""
    return os.environ.get("IV_VUE_NODES") == "1"


@pytest.fixture
def comfy_page(chromium, server, vue_nodes):
    page = open_page(chromium, server, vue_nodes=vue_nodes)
    yield page
    page.page.context.close()
