"""Side-by-side measurements: every figure is reported as a ratio to a baseline measured in the same run.

Absolute seconds depend on the machine; a ratio against a baseline taken minutes apart on the same machine
does not (much), which is what a target like "≤ 1.05× core CFGGuider" needs. A budget that is absolute by
nature (an interactive preview in seconds) is recorded with ``Report.absolute``, next to ratios.
"""

from __future__ import annotations

import gc
import multiprocessing as mp
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field


def machine_info() -> str:
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    dev = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return (
        f"{cpu}; {os.cpu_count()} cores, torch {torch.__version__} ({torch.get_num_threads()} threads), "
        f"{dev}; Python {platform.python_version()}"
    )


def median_seconds(fn: Callable[[], object], repeats: int = 5, warmup: int = 1) -> tuple[float, list[float]]:
    """Median wall time of ``fn()`` over ``repeats`` calls after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        gc.collect()
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), times


def peak_allocated_bytes(fn: Callable[[], object]) -> int:
    """Peak bytes held at once by the tensors ``fn()`` allocates: the host-memory analogue of
    ``torch.cuda.max_memory_allocated`` (what exists before the call, the model, is not counted).

    Read from the profiler's memory events ("Total Allocated" of PyTorch's CPU allocator while profiling).
    Peak RSS is no use here: glibc's reuse of freed blocks and per-thread arenas made it vary by ±10 % between
    identical runs of one UNet step (718 vs 862 MiB). Allocations made inside worker threads (kernel scratch)
    are not reported by the profiler; they are small and alike on both sides of a comparison.
    """
    import json
    import tempfile

    from torch.profiler import ProfilerActivity, profile

    gc.collect()
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "trace.json")
        prof.export_chrome_trace(path)
        with open(path) as f:
            events = json.load(f)["traceEvents"]
    memory = sorted((e for e in events if e.get("name") == "[memory]"), key=lambda e: (e["ts"], e["args"]["Ev Idx"]))
    if not memory:
        raise RuntimeError("the profiler reported no memory events: cannot measure peak memory")
    # The allocator's running total carries over what earlier profiled calls allocated and still hold.
    first = memory[0]["args"]
    return max(e["args"]["Total Allocated"] for e in memory) - (first["Total Allocated"] - first["Bytes"])


@dataclass
class Case:
    """One workload of a side-by-side measurement: ``step`` is timed; ``prepare`` runs untimed before each
    step (switching which model patches are on, say, when two cases share one model's weights)."""

    step: Callable[[], object]
    prepare: Callable[[], object] = lambda: None


@dataclass
class Measured:
    seconds: float  # median of the timed steps
    times: list[float]
    peak_bytes: int  # peak_allocated_bytes of one more step


def _worker(conn, factory: Callable[[], dict[str, Case]]):
    try:
        cases = factory()
        conn.send(sorted(cases))
        while True:
            command, key = conn.recv()
            if command == "stop":
                return
            case = cases[key]
            case.prepare()
            gc.collect()
            if command == "step":
                t = time.perf_counter()
                case.step()
                conn.send(time.perf_counter() - t)
            else:
                conn.send(peak_allocated_bytes(case.step))
    except BaseException as e:
        conn.send(e)
        raise
    finally:
        conn.close()


def measure_interleaved(
    workers: dict[str, Callable[[], dict[str, Case]]],
    order: list[str],
    repeats: int = 3,
    warmup: int = 1,
    timeout: float = 3600,
    log: Callable[[str], object] = print,
) -> dict[str, Measured]:
    """Time cases side by side: each worker is a fresh process that builds its cases (models) once; then the
    cases take turns, one step each in ``order``, ``warmup`` untimed rounds and ``repeats`` timed ones, so a
    drift of the machine's speed (we saw ±10 % between runs minutes apart) falls on every case alike. Only
    one process computes at a time. Last, one more step per case measures its peak memory.

    workers: name -> a picklable module-level function returning ``{case key: Case}``.
    """
    ctx = mp.get_context("spawn")
    procs, pipes, owner = [], {}, {}

    def reply(name):
        if not pipes[name].poll(timeout):
            raise TimeoutError(f"benchmark worker {name!r} did not answer within {timeout:.0f} s")
        value = pipes[name].recv()
        if isinstance(value, BaseException):
            raise RuntimeError(f"benchmark worker {name!r} failed (its traceback is above)") from value
        return value

    try:
        for name, factory in workers.items():  # built one at a time: building peaks above running
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_worker, args=(child, factory))
            proc.start()
            procs.append(proc)
            pipes[name] = parent
            owner.update({key: name for key in reply(name)})
        missing = [key for key in order if key not in owner]
        if missing:
            raise ValueError(f"no worker builds case(s) {missing}")
        times: dict[str, list[float]] = {key: [] for key in order}
        for round_ in range(warmup + repeats):
            for key in order:
                pipes[owner[key]].send(("step", key))
                seconds = reply(owner[key])
                if round_ >= warmup:
                    times[key].append(seconds)
                log(f"  ({key}: {'warm-up ' if round_ < warmup else ''}step {seconds:.2f} s)")
        result = {}
        for key in order:
            pipes[owner[key]].send(("memory", key))
            result[key] = Measured(statistics.median(times[key]), times[key], reply(owner[key]))
        for pipe in pipes.values():
            pipe.send(("stop", ""))
    finally:
        for proc in procs:
            proc.join(timeout=60)
            if proc.is_alive():
                proc.kill()
    return result


@dataclass
class Figure:
    name: str
    value: float
    baseline_name: str
    baseline: float
    unit: str
    target: float | None
    absolute: bool = False  # the target bounds ``value`` itself (say seconds), not the ratio

    @property
    def ratio(self) -> float:
        return self.value / self.baseline

    @property
    def met(self) -> bool:
        return self.target is None or (self.value if self.absolute else self.ratio) <= self.target


@dataclass
class Report:
    title: str
    figures: list[Figure] = field(default_factory=list)

    def ratio(
        self, name: str, value: float, baseline_name: str, baseline: float, unit: str = "s", target: float | None = None
    ) -> float:
        """Record ``value`` against ``baseline``; ``target`` is the ratio the figure must stay at or under."""
        fig = Figure(name, value, baseline_name, baseline, unit, target)
        self.figures.append(fig)
        return fig.ratio

    def absolute(self, name: str, value: float, unit: str = "s", target: float | None = None) -> bool:
        """Record ``value`` on its own; ``target`` is the value (in ``unit``) it must stay at or under. Where a
        ratio cannot carry the target (an interactive budget in seconds), report ratios next to it as well."""
        fig = Figure(name, value, "", 1.0, unit, target, absolute=True)
        self.figures.append(fig)
        return fig.met

    def print(self) -> bool:
        """Print the table; True when every figure with a target met it."""
        print(f"\n## {self.title}\n{machine_info()}")
        ok_all = True
        for f in self.figures:
            verdict = ""
            if f.target is not None:
                ok_all &= f.met
                bound = f"{f.target:g} {f.unit}" if f.absolute else f"{f.target:g}"
                verdict = f"   target <= {bound}: {'met' if f.met else 'MISSED'}"
            if f.absolute:
                print(f"  {f.name}: {f.value:.4g} {f.unit}{verdict}")
                continue
            print(
                f"  {f.name}: {f.ratio:.4f} x {f.baseline_name}   ({f.value:.4g} {f.unit} vs {f.baseline:.4g} {f.unit})"
                f"{verdict}"
            )
        return ok_all
