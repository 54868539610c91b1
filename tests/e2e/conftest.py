"""Real ComfyUI servers (child processes), shared by the e2e modules: each start costs ~20 s of CPU.

``server``: this pack and the test-only fixture nodes (devkit/fixture_nodes, e.g. IVTest_WanTextEmbedding, which Wan
graphs use in place of umt5-xxl); modules link the model files they need into its folders.
``sd15_server``: for prompts that sample the full-size SD1.5 checkpoint many times, started with ``--fp16-unet``: the
UNet's weights stay fp16 (ComfyUI computes in fp32 on CPU by casting per layer), which keeps the server under ~5 GB
while it loads the 2 GB checkpoint, linked as ``SD15_CHECKPOINT``.
"""

import re

import pytest

from comfyui_interactivevideo.devkit import sd15
from comfyui_interactivevideo.devkit.paths import REPO
from comfyui_interactivevideo.devkit.server import ComfyServer

SD15_CHECKPOINT = "iv-sd15-random.safetensors"


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    srv = ComfyServer(tmp_path_factory.mktemp("comfy-base"), fixture_nodes=True).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def sd15_server(tmp_path_factory):
    srv = ComfyServer(tmp_path_factory.mktemp("comfy-sd15"), extra_args=("--fp16-unet",))
    (srv.base / "models" / "checkpoints" / SD15_CHECKPOINT).symlink_to(sd15.checkpoint_file())
    srv.start()
    yield srv
    srv.stop()


def documented_errors(route: str) -> list[tuple[int, str]]:
    """(status, error) of each row of ``route``'s Examples table in docs/http-api.md: ``| request | 400 | `...` |``."""
    page = (REPO / "docs" / "http-api.md").read_text()
    table = page.split(f"Examples (`POST {route}`", 1)[1].split("\n\n", 2)[1]
    return [(int(status), error) for status, error in re.findall(r"^\|.*\| (\d{3}) \| `(.+)` \|$", table, re.M)]


@pytest.fixture(scope="session")
def documented():
    """``documented(route)``: the errors docs/http-api.md quotes for ``route``, as (status, text)."""
    return documented_errors
