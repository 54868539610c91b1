"""Real ComfyUI servers (child processes), shared by the e2e modules: each start costs ~20 s of CPU.

``server``: this pack and the test-only fixture nodes (devkit/fixture_nodes, e.g. IVTest_WanTextEmbedding, which Wan
graphs use in place of umt5-xxl); modules link the model files they need into its folders.
``sd15_server``: for prompts that sample the full-size SD1.5 checkpoint many times, started with ``--fp16-unet``: the
UNet's weights stay fp16 (ComfyUI computes in fp32 on CPU by casting per layer), which keeps the server under ~5 GB
while it loads the 2 GB checkpoint, linked as ``SD15_CHECKPOINT``.

Only one of the two runs at a time: beside the pytest process (which holds the in-process ComfyUI of tests/comfy, up
to ~9 GB) two servers took a fresh CI run past this machine's 23 GB (OOM-killed). Starting one stops the other (its
folders stay, so a restart finds what its modules linked and uploaded), and the modules on ``sd15_server`` run last,
so the switch happens once.
"""

import ctypes
import gc
import re
import sys

import pytest

from comfyui_interactivevideo.devkit import sd15
from comfyui_interactivevideo.devkit.paths import REPO
from comfyui_interactivevideo.devkit.server import ComfyServer

SD15_CHECKPOINT = "iv-sd15-random.safetensors"


SERVER_FIXTURES = ("server", "sd15_server")
RELEASED: dict[str, float] = {}  # the test process's resident GB before and after releasing the in-process layer's


def resident_gb() -> float:
    with open("/proc/self/status") as f:
        kb = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    return kb / 2**20


@pytest.fixture(scope="session", autouse=True)
def in_process_models_released():
    """Before the first e2e test: what the in-process layer (tests/comfy) left loaded is released, ComfyUI's
    loaded models and the freed heap given back to the system, so that the servers have the memory."""
    RELEASED["before"] = resident_gb()
    management = sys.modules.get("comfy.model_management")
    if management is not None:
        management.unload_all_models()
        management.soft_empty_cache()
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)  # glibc keeps freed blocks below its mmap threshold otherwise
    except (OSError, AttributeError):
        pass
    RELEASED["after"] = resident_gb()


def pytest_terminal_summary(terminalreporter):
    if RELEASED:
        terminalreporter.write_line(
            f"test process before the e2e layer: {RELEASED['before']:.2f} GB resident, "
            f"{RELEASED['after']:.2f} GB after releasing the in-process layer's models"
        )


class OneServer:
    """The e2e servers, at most one of them running."""

    def __init__(self):
        self.servers: dict[str, ComfyServer] = {}

    def use(self, name: str) -> ComfyServer:
        for other, srv in self.servers.items():
            if other != name:
                srv.stop()
        srv = self.servers[name]
        if not srv.alive():
            srv.start()
        return srv

    def stop_all(self) -> None:
        for srv in self.servers.values():
            srv.stop()


def pytest_collection_modifyitems(config, items):
    # Stable: the sd15 modules keep their order among themselves, after everything else.
    items.sort(key=lambda item: "sd15_server" in getattr(item, "fixturenames", ()))


@pytest.fixture(scope="session")
def one_server():
    pool = OneServer()
    yield pool
    pool.stop_all()


@pytest.fixture(scope="session")
def server(tmp_path_factory, one_server):
    one_server.servers["server"] = ComfyServer(tmp_path_factory.mktemp("comfy-base"), fixture_nodes=True)
    return one_server.use("server")


@pytest.fixture(scope="session")
def sd15_server(tmp_path_factory, one_server):
    srv = ComfyServer(tmp_path_factory.mktemp("comfy-sd15"), extra_args=("--fp16-unet",))
    (srv.base / "models" / "checkpoints" / SD15_CHECKPOINT).symlink_to(sd15.checkpoint_file())
    one_server.servers["sd15_server"] = srv
    return one_server.use("sd15_server")


@pytest.fixture(scope="module", autouse=True)
def the_modules_server(request, one_server):
    """Before each module's own fixtures: the server its tests use is the one running (restarted if another module's
    server stopped it, e.g. when only some modules are selected in another order)."""
    here = [item for item in request.session.items if item.path == request.node.path]
    wanted = {name for item in here for name in getattr(item, "fixturenames", ())}
    for name in SERVER_FIXTURES:
        if name in wanted and name in one_server.servers:
            one_server.use(name)


def documented_errors(route: str) -> list[tuple[int, str]]:
    """(status, error) of each row of ``route``'s Examples table in docs/http-api.md: ``| request | 400 | `...` |``."""
    page = (REPO / "docs" / "http-api.md").read_text()
    table = page.split(f"Examples (`POST {route}`", 1)[1].split("\n\n", 2)[1]
    return [(int(status), error) for status, error in re.findall(r"^\|.*\| (\d{3}) \| `(.+)` \|$", table, re.M)]


@pytest.fixture(scope="session")
def documented():
    """``documented(route)``: the errors docs/http-api.md quotes for ``route``, as (status, text)."""
    return documented_errors
