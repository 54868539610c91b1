"""Headless Chromium (Debian's, driven by Playwright) on the real ComfyUI page served by the e2e server.

Skipped when no Chromium is installed (`bash scripts/setup.sh --browser` installs it), except where
IV_REQUIRE_BROWSER=1 (CI): there a missing browser is a failure, not a skip.
"""

import json
import os
import shutil
from pathlib import Path

import pytest

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ARTIFACTS = Path(os.environ.get("IV_ARTIFACTS", Path(__file__).resolve().parents[3] / "output" / "test-artifacts"))


def chromium_path() -> str | None:
    return os.environ.get("IV_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def chromium():
    path = chromium_path()
    if path is None:
        if os.environ.get("IV_REQUIRE_BROWSER") == "1":
            pytest.fail("IV_REQUIRE_BROWSER=1 but no Chromium found: run `bash scripts/setup.sh --browser`")
        pytest.skip("no Chromium: `bash scripts/setup.sh --browser` installs it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


class ComfyPage:
    """One browser tab on the ComfyUI page, with the console watched for errors."""

    def __init__(self, page, server):
        self.page, self.server = page, server
        self.console_errors: list[str] = []
        self.missing: list[str] = []
        page.on(
            "console", lambda m: m.type == "error" and self.console_errors.append(f"{m.text} @ {m.location.get('url')}")
        )
        page.on("response", lambda r: r.status == 404 and self.missing.append(r.url))
        page.on("pageerror", lambda e: self.console_errors.append(str(e)))

    def open(self):
        self.page.goto(self.server.url, wait_until="domcontentloaded")
        self.page.wait_for_function("() => window.app && window.app.graph && window.LiteGraph", timeout=90_000)
        return self

    def pack_errors(self) -> list[str]:
        """Console errors that come from this pack (its extension files, its node types).

        The stock page logs errors of its own offline (api.comfy.org unreachable, absent user files), which
        say nothing about the pack; those are kept in ``console_errors`` for a failing test's message.
        """
        return [e for e in self.console_errors if "interactivevideo" in e.lower() or "IV_" in e]

    def eval(self, js: str, arg=None):
        return self.page.evaluate(js, arg)


@pytest.fixture
def comfy_page(chromium, server):
    # A returning user: no first-run template browser over the canvas.
    settings = server.base / "user" / "default" / "comfy.settings.json"
    settings.parent.mkdir(parents=True, exist_ok=True)
    if not settings.exists():
        settings.write_text(json.dumps({"Comfy.TutorialCompleted": True}))
    context = chromium.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    yield ComfyPage(page, server).open()
    context.close()
