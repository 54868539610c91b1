"""Train the small Wan 2.1 VAE and image-to-video DiT on procedural clips (CPU, seeded, resumable).

    .venv/bin/python scripts/train_tiny_wan.py                     # everything, into devkit/tiny_wan/weights/
    .venv/bin/python scripts/train_tiny_wan.py --minutes 20        # stop (checkpointed) after 20 minutes; run again
    .venv/bin/python scripts/train_tiny_wan.py --smoke --out /tmp/x  # a few steps of each stage (the test does this)

Checkpoints live in --workdir (default .train/tiny_wan/, git-ignored); a run continues from them. What each stage
does: devkit/tiny_wan/train.py.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

from comfyui_interactivevideo.devkit.paths import REPO
from comfyui_interactivevideo.devkit.tiny_wan import config, train


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="train_tiny_wan", description=__doc__.split("\n\n")[0])
    p.add_argument("--workdir", type=Path, default=REPO / ".train" / "tiny_wan")
    p.add_argument("--out", type=Path, default=config.WEIGHTS)
    p.add_argument("--minutes", type=float, default=float("inf"), help="stop, checkpointed, after this long")
    p.add_argument("--smoke", action="store_true", help="a few steps of every stage at the real sizes")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    cfg = config.smoke() if args.smoke else config.TrainConfig()
    t0 = time.monotonic()

    def log(line: str) -> None:
        print(f"[{time.monotonic() - t0:7.0f} s] {line}", flush=True)

    done = train.run(cfg, args.workdir, args.out, args.minutes, log)
    log("done: both files written" if done else "stopped at the deadline; run again to continue")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
