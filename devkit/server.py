"""A real ComfyUI server in a child process, driven over its HTTP API and websocket like a headless user would."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import websocket

from .paths import PACK_NAME, REPO, comfy_root

# The test-only custom node pack (devkit/fixture_nodes) and the folder name it gets in a base directory's custom_nodes.
FIXTURE_NODES = Path(__file__).resolve().parent / "fixture_nodes"
FIXTURE_PACK_NAME = "IVTestFixtureNodes"


class ServerError(RuntimeError):
    """The server refused a prompt, failed while running it, or died."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


MODEL_FOLDERS = (
    "models/checkpoints",
    "models/animatediff_models",
    "models/diffusion_models",
    "models/text_encoders",
    "models/vae",
)


def prepare_base_directory(base: Path, fixture_nodes: bool = False) -> Path:
    """Lay out a ComfyUI base directory whose only custom node pack is this checkout (and, with
    ``fixture_nodes``, the test-only pack of ``devkit/fixture_nodes``, e.g. ``IVTest_WanTextEmbedding``)."""
    (base / "custom_nodes").mkdir(parents=True, exist_ok=True)
    links = {PACK_NAME: REPO}
    if fixture_nodes:
        links[FIXTURE_PACK_NAME] = FIXTURE_NODES
    for name, target in links.items():
        link = base / "custom_nodes" / name
        if not link.exists():
            link.symlink_to(target, target_is_directory=True)
    for sub in (*MODEL_FOLDERS, "input", "output", "temp", "user"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    return base


def link(path: Path, target: Path) -> Path:
    """``path`` in a server's folders as a symlink to ``target`` (a cached model file), as a user's model folders
    hold it; kept when it is already there (modules that share one server link the same files)."""
    if not path.exists():
        path.symlink_to(target)
    return path


class ComfyServer:
    def __init__(
        self,
        base: Path | None,
        port: int | None = None,
        extra_args: tuple[str, ...] = (),
        log_path: Path | None = None,
        fixture_nodes: bool = False,
    ):
        """``base``: a fresh base directory holding only this pack; None: ComfyUI's own folders and custom nodes.
        ``fixture_nodes``: also load the test-only node pack of ``devkit/fixture_nodes`` (needs ``base``)."""
        if fixture_nodes and base is None:
            raise ValueError("fixture_nodes needs a base directory to link them into")
        self.base = prepare_base_directory(Path(base), fixture_nodes) if base is not None else None
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path or (self.base / "server.log" if self.base else Path(comfy_root()) / "iv-server.log")
        self.extra_args = extra_args
        self.proc: subprocess.Popen | None = None
        self.client_id = uuid.uuid4().hex
        # Seconds each node of the last prompt ran (from the websocket's `executing` events), in run order.
        self.node_seconds: dict[str, float] = {}

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self, timeout: float = 240.0) -> ComfyServer:
        root = comfy_root()
        cmd = [
            sys.executable,
            str(root / "main.py"),
            "--cpu",
            "--listen",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--disable-auto-launch",
            *self.extra_args,
        ]
        if self.base is not None:
            cmd += ["--base-directory", str(self.base)]
        frontend = os.environ.get("IV_FRONTEND_ROOT")
        if frontend and "--front-end-root" not in self.extra_args:
            # Another frontend than the one this ComfyUI pins (scripts/setup.sh with IV_FRONTEND=version).
            cmd += ["--front-end-root", frontend]
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")  # a restart (tests/e2e/conftest.py) keeps what it logged before
        # Own process group: stop() must take down ComfyUI's children too.
        self.proc = subprocess.Popen(
            cmd,
            cwd=root,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerError(f"ComfyUI exited with {self.proc.returncode} while starting:\n{self.log_tail()}")
            try:
                self.get_json("/system_stats", timeout=2)
                return self
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                time.sleep(0.5)
        self.stop()
        raise ServerError(f"ComfyUI did not answer within {timeout:.0f}s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_mark(self) -> int:
        """A place in the log; ``log_since(mark)`` reads what the server wrote after it (on a shared server, what
        one module's prompts caused)."""
        return self.log_path.stat().st_size if self.log_path.exists() else 0

    def log_since(self, mark: int) -> str:
        with open(self.log_path, "rb") as f:
            f.seek(mark)
            return f.read().decode(errors="replace")

    def log_tail(self, n: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no log)"

    # -- HTTP --------------------------------------------------------------------------------------
    def get(self, path: str, timeout: float = 30) -> bytes:
        with urllib.request.urlopen(self.url + path, timeout=timeout) as r:
            return r.read()

    def get_json(self, path: str, timeout: float = 30):
        return json.loads(self.get(path, timeout))

    def post_json(self, path: str, body: dict, timeout: float = 30):
        req = urllib.request.Request(
            self.url + path, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            raise ServerError(f"POST {path} -> {e.code}: {e.read().decode(errors='replace')}") from e

    def upload_image(self, data: bytes, name: str, overwrite: bool = False, subfolder: str = "") -> dict:
        """Upload an image to the input folder (or ``subfolder`` of it) the way the frontend does (/upload/image)."""
        boundary = uuid.uuid4().hex
        parts = [
            f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="{name}"\r\n'
            f"Content-Type: image/png\r\n\r\n".encode(),
            data,
            b"\r\n",
        ]
        if overwrite:
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="overwrite"\r\n\r\ntrue\r\n'.encode())
        if subfolder:
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="subfolder"\r\n\r\n{subfolder}\r\n'.encode()
            )
        parts.append(f"--{boundary}--\r\n".encode())
        req = urllib.request.Request(
            self.url + "/upload/image",
            data=b"".join(parts),
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read())

    def object_info(self) -> dict:
        return self.get_json("/object_info", timeout=60)

    def view(self, file: dict) -> bytes:
        q = urllib.parse.urlencode(
            {"filename": file["filename"], "subfolder": file.get("subfolder", ""), "type": file.get("type", "output")}
        )
        return self.get(f"/view?{q}")

    # -- prompts -----------------------------------------------------------------------------------
    def queue(self, prompt: dict) -> str:
        reply = self.post_json("/prompt", {"prompt": prompt, "client_id": self.client_id})
        if reply.get("node_errors"):
            raise ServerError(f"prompt rejected: {json.dumps(reply['node_errors'], indent=1)}")
        return reply["prompt_id"]

    def run(self, prompt: dict, timeout: float = 600.0, on_progress=None) -> dict:
        """Queue a prompt, follow it on the websocket until it ends, and return its /history entry.

        ``on_progress(node_id, value, max)`` is called for each of ComfyUI's ``progress`` events (a sampler's
        steps); newer ComfyUI versions may throttle them, so not every step need arrive."""
        ws = websocket.create_connection(f"ws://127.0.0.1:{self.port}/ws?clientId={self.client_id}", timeout=5)
        try:
            prompt_id = self.queue(prompt)
            self.node_seconds = {}
            running: tuple[str, float] | None = None
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if not self.alive():
                    raise ServerError(f"the server died while running the prompt:\n{self.log_tail()}")
                try:
                    msg = ws.recv()
                except websocket.WebSocketTimeoutException:
                    continue
                except (websocket.WebSocketConnectionClosedException, ConnectionError) as e:
                    raise ServerError(f"websocket closed: {e}\n{self.log_tail()}") from e
                if not isinstance(msg, str):
                    continue  # binary frames are latent previews
                event = json.loads(msg)
                data = event.get("data", {})
                if data.get("prompt_id") != prompt_id:
                    continue
                if event["type"] == "progress" and on_progress is not None:
                    on_progress(data.get("node"), data.get("value"), data.get("max"))
                if event["type"] == "executing":
                    now = time.monotonic()
                    if running is not None:
                        self.node_seconds[running[0]] = now - running[1]
                    running = (data["node"], now) if data.get("node") is not None else None
                if event["type"] == "execution_error":
                    raise ServerError(
                        f"{data.get('node_type')} failed: {data.get('exception_message')}\n"
                        + "".join(data.get("traceback", []))
                    )
                if event["type"] == "execution_success" or (event["type"] == "executing" and data.get("node") is None):
                    if running is not None:
                        self.node_seconds[running[0]] = time.monotonic() - running[1]
                    return self.history(prompt_id)
            raise ServerError(f"prompt {prompt_id} did not finish within {timeout:.0f}s\n{self.log_tail()}")
        finally:
            ws.close()

    def history(self, prompt_id: str, timeout: float = 30.0) -> dict:
        """The /history entry of a finished prompt. ComfyUI announces the end on the websocket before it files
        the entry, so poll briefly rather than read once."""
        deadline = time.monotonic() + timeout
        while True:
            entry = self.get_json(f"/history/{prompt_id}").get(prompt_id)
            if entry is not None and entry.get("status", {}).get("completed", True):
                return entry
            if time.monotonic() > deadline:
                raise ServerError(f"prompt {prompt_id} finished but has no /history entry\n{self.log_tail()}")
            time.sleep(0.1)

    def outputs(self, history: dict, node_id: str, kind: str = "images") -> list[bytes]:
        """The files a node of a finished prompt wrote, fetched through /view."""
        return [self.view(f) for f in history["outputs"].get(node_id, {}).get(kind, [])]
