"""The pack's HTTP routes on ComfyUI's own server (``PromptServer``, its aiohttp ``web``), each added once, and what
they share as public endpoints: the body read within a cap, parsed as a JSON object, fields checked by name, an
image named as ``/view`` names it and resolved inside its folder, and one mapping of refusals to HTTP statuses
(docs/http-api.md): a ``RequestError`` is answered with its status and ``{"error": "<field>: <problem>"}``; anything
else is a bug in the pack: 500, the traceback in the log, and the server keeps serving.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)
_added: set[str] = set()

IMAGE_FIELDS = ("filename", "subfolder", "type")
# The folders /view serves, by their `type`, and folder_paths' accessor of each.
VIEW_FOLDERS = {"input": "get_input_directory", "output": "get_output_directory", "temp": "get_temp_directory"}
# A file name or subfolder longer than this is no file in ComfyUI's folders (PATH_MAX on Linux).
MAX_PATH_CHARS = 4096
IMAGE_EXAMPLE = '{"filename": "ball.png", "subfolder": "", "type": "input"}'


class RequestError(ValueError):
    """A request a route refuses: ``field`` names what to change; ``status`` is the HTTP status (400, 404, 413)."""

    def __init__(self, field: str, problem: str, status: int = 400):
        super().__init__(f"{field}: {problem}")
        self.field, self.status = field, status


def short_repr(value) -> str:
    """``value`` as an error quotes it: its repr, cut short."""
    from ..checks import _short as short  # lazily: nodes/checks imports this package

    return short(value)


def field_name(key) -> str:
    """A key of a request as an error names it: as sent when it is short and printable."""
    return key if isinstance(key, str) and len(key) <= 60 and key.isprintable() else short_repr(key)


async def read_body(request, limit: int) -> bytes:
    """The body, refused (413) as soon as it is known to exceed ``limit`` bytes: from its declared length before
    reading any of it, or while reading a body sent without one. aiohttp's client_max_size is server-wide
    (ComfyUI sets it for uploads) and reading the stream bypasses it."""
    declared = request.content_length
    if declared is not None and declared > limit:
        raise RequestError("body", f"is {declared:,} bytes, more than the {limit:,} this request may be", 413)
    data = bytearray()
    async for chunk in request.content.iter_chunked(1 << 16):
        data += chunk
        if len(data) > limit:
            raise RequestError("body", f"is more than the {limit:,} bytes this request may be", 413)
    return bytes(data)


def json_object(raw: bytes, example: str) -> dict:
    """The body as a JSON object; RequestError("body", ...) saying what to send (``example``) otherwise."""
    try:
        body = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise RequestError("body", f"is not UTF-8 text; send {example}") from None
    except json.JSONDecodeError as e:
        raise RequestError(
            "body", f"is not JSON ({e.msg} at line {e.lineno} column {e.colno}); send {example}"
        ) from None
    except (RecursionError, ValueError):  # brackets nested thousands deep; an integer of thousands of digits
        raise RequestError(
            "body", f"holds JSON nested too deeply or a number too long to read; send {example}"
        ) from None
    if not isinstance(body, dict):
        raise RequestError("body", f"is a JSON {type(body).__name__}, not an object; send {example}")
    return body


def refuse_unknown(mapping: dict, allowed: tuple[str, ...], prefix: str = "", of: str = "this request") -> None:
    """RequestError naming the first key of ``mapping`` that is not in ``allowed``."""
    for key in mapping:
        if key not in allowed:
            raise RequestError(f"{prefix}{field_name(key)}", f"is not a field of {of}; send only {', '.join(allowed)}")


def checked_value(field: str, spec, value):
    """``value``, or the spec's default when it is absent (JSON null); RequestError naming ``field`` when the node
    input ``spec`` (a V3 declaration) would refuse it: the nodes' own check (nodes/checks.py), one set of limits."""
    from ..checks import value_problem

    if value is None:
        return spec.default
    problem = value_problem(spec, value)
    if problem:
        raise RequestError(field, problem.removeprefix("is "))
    return value


def view_reference(value, field: str = "image") -> tuple[str, str, str]:
    """(filename, subfolder, type) of an image named as ``/view`` names it, every field checked; ``None`` fields
    take their defaults (subfolder "", type "input"). Whether the file is there is ``resolve_view_file``'s."""
    if not isinstance(value, dict):
        raise RequestError(field, f"{short_repr(value)} is not an object; send {IMAGE_EXAMPLE} as /view names the file")
    refuse_unknown(value, IMAGE_FIELDS, f"{field}.", field)
    parts = []
    for name in ("filename", "subfolder"):
        part, where = "" if value.get(name) is None else value[name], f"{field}.{name}"
        if name == "filename" and part == "":
            raise RequestError(where, 'is missing; send the file\'s name as /view names it, e.g. "ball.png"')
        if not isinstance(part, str):
            raise RequestError(where, f"{short_repr(part)}, not text; send the name as a string")
        if "\0" in part or len(part) > MAX_PATH_CHARS:
            raise RequestError(where, f"{short_repr(part)} is no file name; send a name as /view gives it")
        parts.append(part)
    kind = "input" if value.get("type") is None else value["type"]
    _check_type(kind, field)
    return parts[0], parts[1], kind


def _check_type(kind, field: str) -> None:
    if not isinstance(kind, str) or kind not in VIEW_FOLDERS:
        choices = ", ".join(VIEW_FOLDERS)
        raise RequestError(f"{field}.type", f"{short_repr(kind)}, not one of its choices; pick one of: {choices}")


def resolve_view_file(filename: str, subfolder: str = "", kind: str = "input", field: str = "image") -> str:
    """Absolute path of a file as ``/view`` names it, resolved through ``folder_paths``; RequestError naming
    ``field``: 400 for another folder type or a path that leaves the folder, 404 for a file that is not there."""
    import folder_paths

    _check_type(kind, field)
    base = os.path.abspath(getattr(folder_paths, VIEW_FOLDERS[kind])())
    path = os.path.abspath(os.path.join(base, subfolder or "", filename))
    if not filename or os.path.commonpath([path, base]) != base:
        raise RequestError(
            field,
            f"{filename!r} (subfolder {subfolder!r}) is not inside ComfyUI's {kind} folder; send a file of that "
            "folder as /view names it",
        )
    if not os.path.isfile(path):
        raise RequestError(
            field,
            f"{os.path.join(subfolder or '', filename)!r} not found in ComfyUI's {kind} folder; upload it "
            "(POST /upload/image) or name a file that is there",
            404,
        )
    return path


def add_post_route(path: str, handle: Callable[..., Awaitable]) -> bool:
    """Serve ``POST path`` with ``await handle(request)``, which returns the reply (a JSON-able dict, or JSON bytes
    already encoded) or raises RequestError; once per path. False where there is no server yet (scripts, tests
    without one)."""
    if path in _added:
        return True
    try:
        from server import PromptServer, web  # ComfyUI's aiohttp, as its own routes use it
    except ImportError:
        return False
    server = getattr(PromptServer, "instance", None)
    if server is None:
        return False

    @server.routes.post(path)
    async def route(request):
        try:
            reply = await handle(request)
        except RequestError as e:
            response = web.json_response({"error": str(e)}, status=e.status)
            if e.status == 413:
                response.force_close()  # the unread rest of the body is not worth waiting for
            return response
        except Exception as e:  # a bug, not the request: the server keeps serving, the log has the traceback
            log.exception("InteractiveVideo: %s failed", path)
            return web.json_response(
                {"error": f"{path} failed ({type(e).__name__}); a bug in ComfyUI-InteractiveVideo, see the log"},
                status=500,
            )
        body = reply if isinstance(reply, bytes) else json.dumps(reply).encode()
        return web.Response(body=body, content_type="application/json")

    _added.add(path)
    log.debug("InteractiveVideo: %s registered", path)
    return True
