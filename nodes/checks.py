"""Every value a node receives is checked against the node's own V3 schema before the node runs.

ComfyUI's prompt validation lets JSON ``NaN``/``Infinity`` through min/max (every comparison with NaN is false),
ComfyUI 0.3.75 does not check V3 combo values at all, and an in-process caller is checked by nothing. ``checked``,
on every node's ``execute``, closes these gaps from the schema itself: a FLOAT must be a finite number within its
min/max, an INT an integer within them, a COMBO one of its options (read again from the schema, so options listed
from a folder are current), a STRING at most ``MAX_TEXT_CHARS`` characters. A new input is covered by declaring
it. (Not V3 ``validate_inputs``: defining it makes ComfyUI skip its own range checks.)

``require_memory`` is the size guard: a node states the bytes a request needs before allocating them.

The pack's HTTP routes check request values with the same ``value_problem`` (``comfy_internals/routes.py``,
``checked_value``): the live preview's fields against the nodes' own declarations (``input_spec``) with the same
memory guard (``memory_shortfall``), the reference route's against the resize nodes' declarations; one set of limits.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

from comfy_api.latest import io

from . import comfy_internals as ci

# A text input carries at most this many characters (1 MB of ASCII): ~50,000 tracks points, far beyond any drawing.
# ComfyUI copies every input into each saved PNG's metadata and the history, so text is never unbounded.
MAX_TEXT_CHARS = 1_000_000
_SHOWN_CHOICES = 12


class InputError(ValueError):
    """An input value a node cannot use; the message names the node, the input, the problem and what to do."""


def display_name(cls: type[io.ComfyNode]) -> str:
    schema = cls.define_schema()  # not GET_SCHEMA: it writes class attributes, and ComfyUI runs a locked clone
    return schema.display_name or schema.node_id


def checked(execute: Callable) -> Callable:
    """Decorator for a node's ``execute`` (under ``@classmethod``): checks every received value first."""

    @functools.wraps(execute)
    def run(cls, *args, **kwargs):
        check_inputs(cls, kwargs)
        return execute(cls, *args, **kwargs)

    run.__iv_checked__ = True
    return run


def is_checked(cls: type[io.ComfyNode]) -> bool:
    return bool(getattr(getattr(cls.execute, "__func__", cls.execute), "__iv_checked__", False))


def check_inputs(cls: type[io.ComfyNode], values: dict[str, Any]) -> None:
    """Raise ``InputError`` for the first value that does not fit its input's declaration in ``cls``'s schema."""
    schema = cls.define_schema()  # not GET_SCHEMA: it writes class attributes, and ComfyUI runs a locked clone
    node = schema.display_name or schema.node_id
    for spec in schema.inputs:
        value = values.get(spec.id)
        if value is None:
            continue  # an optional input left unconnected
        problem = value_problem(spec, value)
        if problem:
            raise InputError(f"{node}: '{spec.id}' {problem}")


def _fmt(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def _range(spec) -> str:
    lo, hi = getattr(spec, "min", None), getattr(spec, "max", None)
    if lo is not None and hi is not None:
        return f"between {_fmt(lo)} and {_fmt(hi)}"
    if lo is not None:
        return f"of at least {_fmt(lo)}"
    if hi is not None:
        return f"of at most {_fmt(hi)}"
    return ""


def _out_of_range(spec, value) -> bool:
    lo, hi = getattr(spec, "min", None), getattr(spec, "max", None)
    return (lo is not None and value < lo) or (hi is not None and value > hi)


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} characters)"


def input_spec(cls: type[io.ComfyNode], input_id: str):
    """The declaration of input ``input_id`` in ``cls``'s schema (its type, range, options, default)."""
    schema = cls.define_schema()  # not GET_SCHEMA: it writes class attributes, and ComfyUI runs a locked clone
    for spec in schema.inputs:
        if spec.id == input_id:
            return spec
    raise KeyError(f"{schema.node_id} has no input {input_id!r}")


def value_problem(spec, value: Any) -> str | None:
    """What is wrong with ``value`` for input ``spec`` (a phrase after the input's name), or None."""
    if isinstance(spec, io.Float.Input):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"is {_short(value)}, not a number; give a finite number {_range(spec)}".rstrip()
        if isinstance(value, float) and math.isnan(value):
            return f"is NaN; give a finite number {_range(spec)}".rstrip()
        if isinstance(value, float) and math.isinf(value):
            sign = "+" if value > 0 else "-"
            return f"is {sign}infinity; give a finite number {_range(spec)}".rstrip()
        if _out_of_range(spec, value):
            return f"is {_fmt(value)}, out of range; give a number {_range(spec)}"
        return None
    if isinstance(spec, io.Int.Input):
        if isinstance(value, bool) or not isinstance(value, int):
            return f"is {_short(value)}, not a whole number; give an integer {_range(spec)}".rstrip()
        if _out_of_range(spec, value):
            return f"is {_short(value)}, out of range; give an integer {_range(spec)}"
        return None
    if isinstance(spec, io.Combo.Input):
        options = list(spec.options or [])
        if value in options and type(value) is type(options[options.index(value)]):
            return None
        if not options:
            return f"is {_short(value)}, and there is nothing to choose from ({_empty_hint(spec)})"
        shown = ", ".join(str(o) for o in options[:_SHOWN_CHOICES])
        more = f" (and {len(options) - _SHOWN_CHOICES} more)" if len(options) > _SHOWN_CHOICES else ""
        hint = f" ({_FOLDER_HINTS[spec.id]})" if spec.id in _FOLDER_HINTS else ""
        return f"is {_short(value)}, not one of its choices{hint}; pick one of: {shown}{more}"
    if isinstance(spec, io.String.Input):
        if not isinstance(value, str):
            return f"is {_short(value)}, not text"
        if len(value) > MAX_TEXT_CHARS:
            return (
                f"holds {len(value):,} characters, more than the {MAX_TEXT_CHARS:,} a text input may carry; "
                "shorten it (fewer tracks or points)"
            )
        return None
    if isinstance(spec, io.Boolean.Input):
        if not isinstance(value, bool):
            return f"is {_short(value)}, not true or false"
    return None


# Choices listed from a model folder: where a missing file belongs.
_FOLDER_HINTS = {"motion_module": "the files in models/animatediff_models: put the file there and refresh"}


def _empty_hint(spec) -> str:
    if spec.id in _FOLDER_HINTS:
        return _FOLDER_HINTS[spec.id]
    return "check the node's options in the UI"


def require_memory(cls: type[io.ComfyNode], need: int, what: str, reduce: str, device: str = "cpu") -> None:
    """Fail fast, before allocating, when ``need`` bytes exceed the memory free on ``device``.

    ``what``: the request in words (e.g. "16 frames of 8192x8192 flow"); ``reduce``: what the user can lower.
    """
    shortfall = memory_shortfall(need, device)
    if shortfall:
        raise InputError(f"{display_name(cls)}: {what} {shortfall}; reduce {reduce}")


def memory_shortfall(need: int, device: str = "cpu") -> str | None:
    """The phrase "needs about X of memory, and only Y is free" when ``need`` bytes exceed what ``device`` has free."""
    free = ci.free_memory(device)
    if need > free:
        return f"needs about {_gib(need)} of memory, and only {_gib(free)} is free"
    return None


def _gib(n: float) -> str:
    return f"{n / 2**30:.1f} GiB" if n >= 2**30 else f"{n / 2**20:.0f} MiB"
