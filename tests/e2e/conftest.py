"""A real ComfyUI server (child process) with this pack as its only custom node pack."""

import pytest

from comfyui_interactivevideo.devkit.server import ComfyServer


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    srv = ComfyServer(tmp_path_factory.mktemp("comfy-base")).start()
    yield srv
    srv.stop()
