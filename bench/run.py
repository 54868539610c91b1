"""Run the benchmarks: `.venv/bin/python bench/run.py [NAME ...]` (NAME: a bench_NAME.py here; default all).

Not part of the test suite. Each benchmark prints its figures as ratios to a baseline measured in the same run
(median of N repeats) and says whether each target was met; the exit code is 1 if any target was missed.
"""

from __future__ import annotations

import importlib
import sys
import time
from pathlib import Path

# Run as a script, so this folder is first on the module search path: bench_*.py and harness import by name.
BENCH = Path(__file__).resolve().parent


def main(names: list[str]) -> int:
    available = sorted(p.stem[len("bench_") :] for p in BENCH.glob("bench_*.py"))
    unknown = [n for n in names if n not in available]
    if unknown:
        print(f"unknown benchmark(s) {unknown}; available: {available}", file=sys.stderr)
        return 2
    ok = True
    for name in names or available:
        t = time.monotonic()
        report = importlib.import_module(f"bench_{name}").run()
        ok &= report.print()
        print(f"  ({name}: {time.monotonic() - t:.0f}s)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
