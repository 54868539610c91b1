"""Start ComfyUI headless with the pack, check that every node of the pack registered, and say so in one line."""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from ivtest.paths import PACK_NAME, comfy_root  # noqa: E402
from ivtest.server import ComfyServer, ServerError  # noqa: E402


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="scripts/demo.sh", description=__doc__)
    parser.add_argument("--output", type=Path, default=ROOT / "output", help="folder for outputs (default: output/)")
    args = parser.parse_args(argv)
    args.output.mkdir(parents=True, exist_ok=True)

    t0 = time.monotonic()
    server = ComfyServer(
        None, extra_args=("--output-directory", str(args.output)), log_path=args.output / "demo-server.log"
    )
    try:
        server.start()
        started = time.monotonic() - t0
        version = server.get_json("/system_stats")["system"].get("comfyui_version", "?")
        ours = sorted(k for k, v in server.object_info().items() if v.get("python_module", "").endswith(PACK_NAME))
    except ServerError as e:
        print(f"demo: ComfyUI did not start: {e}", file=sys.stderr)
        return 1
    finally:
        server.stop()

    log = server.log_path.read_text(errors="replace")
    failed = [line for line in log.splitlines() if "IMPORT FAILED" in line and PACK_NAME in line]
    errors = [line for line in log.splitlines() if re.search(r"Cannot import .*" + re.escape(PACK_NAME), line)]
    if failed or errors or not ours:
        print(f"demo: the pack did not load in ComfyUI {version}; see {server.log_path}", file=sys.stderr)
        for line in failed + errors:
            print("  " + line.strip(), file=sys.stderr)
        return 1
    print(
        f"demo: ComfyUI {version} at {comfy_root()} started headless in {started:.1f}s; "
        f"{len(ours)} InteractiveVideo nodes registered without import errors ({', '.join(ours)})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
