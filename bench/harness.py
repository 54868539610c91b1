"""Side-by-side measurements: every figure is reported as a ratio to a baseline measured in the same run.

Absolute seconds depend on the machine; a ratio against a baseline taken minutes apart on the same machine
does not (much), which is what a target like "≤ 1.05× core CFGGuider" needs.
"""

from __future__ import annotations

import gc
import multiprocessing as mp
import os
import platform
import resource
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


def _peak_child(conn, factory: Callable[[], Callable[[], object]]):
    fn = factory()  # set-up (model build) is not part of the figure: measure from here
    gc.collect()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    fn()
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    conn.send((after - before) * 1024)
    conn.close()


def peak_memory_bytes(factory: Callable[[], Callable[[], object]]) -> int:
    """Growth of peak resident memory while running ``factory()()`` in a fresh process (CPU).

    ``factory`` must be picklable (a module-level function); it builds the workload and returns the call to
    measure, so the measurement excludes building the model.
    """
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_peak_child, args=(child, factory))
    proc.start()
    value = parent.recv()
    proc.join()
    return value


@dataclass
class Figure:
    name: str
    value: float
    baseline_name: str
    baseline: float
    unit: str
    target: float | None

    @property
    def ratio(self) -> float:
        return self.value / self.baseline


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

    def print(self) -> bool:
        """Print the table; True when every figure with a target met it."""
        print(f"\n## {self.title}\n{machine_info()}")
        ok_all = True
        for f in self.figures:
            verdict = ""
            if f.target is not None:
                ok_all &= f.ratio <= f.target
                verdict = f"   target <= {f.target:g}: {'met' if f.ratio <= f.target else 'MISSED'}"
            print(
                f"  {f.name}: {f.ratio:.4f} x {f.baseline_name}   ({f.value:.4g} {f.unit} vs {f.baseline:.4g} {f.unit})"
                f"{verdict}"
            )
        return ok_all
