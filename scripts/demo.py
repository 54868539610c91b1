"""The pack's main job, headless, through a real ComfyUI server.

Default: a drag and a paint on the small Wan 2.1 image-to-video model trained here on procedural clips
(devkit/tiny_wan, committed files): a scene, one object dragged along a curved track, another recoloured, the clip
tied to the image; rendered with and without the instructions from the same seed and measured with the scene's
ground truth. Writes video.webp (with), video_without_instructions.webp, frame_strip.png (the requested track
and the tracked path drawn on frames of both), motion_preview.webp, flow_colours.png and report.txt.

--sd15: the full InteractiveVideo pipeline on SD1.5 + PIA (workflows/api/interactivevideo_full_pipeline.json):
real models when given (flags, IV_CHECKPOINT / IV_MOTION_MODULE, or COMFYUI_DIR's own model folders), otherwise
generated defaults with RANDOM weights that exercise every stage of the pipeline and give noise-like frames;
writes video.mp4, motion_preview.webp, flow_colours.png and report.txt.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from comfyui_interactivevideo.devkit import demo_assets
from comfyui_interactivevideo.devkit.paths import PACK_NAME, REPO, comfy_root
from comfyui_interactivevideo.devkit.server import ComfyServer, ServerError
from comfyui_interactivevideo.devkit.workflow_specs import full_pipeline

ROOT = REPO

WORKFLOW = ROOT / "workflows" / "api" / "interactivevideo_full_pipeline.json"
SPEC = full_pipeline()
# Stages of the report: the shipped workflow's groups (node titles in each).
STAGES = {group.title: tuple(node.title for node in SPEC.nodes if node.key in group.nodes) for group in SPEC.groups}


class DemoError(Exception):
    """One clear line for the user; exit code 2."""


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="bash scripts/demo.sh --sd15", description="The full pipeline on SD1.5 + PIA (see scripts/demo.py)."
    )
    p.add_argument(
        "--checkpoint",
        type=Path,
        default=os.environ.get("IV_CHECKPOINT"),
        help="an SD1.5 checkpoint file (default: COMFYUI_DIR's models, else a generated random one)",
    )
    p.add_argument(
        "--motion-module",
        type=Path,
        default=os.environ.get("IV_MOTION_MODULE"),
        help="a PIA motion module file (default: COMFYUI_DIR's models, else a generated random one)",
    )
    p.add_argument("--image", type=Path, help="use this intermediate image instead of generating one (skips T2I)")
    p.add_argument("--frames", type=int, default=16, help="frames of the clip (default 16)")
    p.add_argument(
        "--size",
        type=int,
        default=None,
        help="square resolution in pixels, a multiple of 64 "
        "(default 512 with real models, 128 with generated random ones, which only exercise the pipeline)",
    )
    p.add_argument("--steps", type=int, default=None, help="sampling steps (default 25 real, 6 random)")
    p.add_argument("--output", type=Path, default=ROOT / "output", help="output folder (default output/)")
    args = p.parse_args(argv)
    for name in ("checkpoint", "motion_module", "image"):
        path = getattr(args, name)
        if path is not None and not Path(path).is_file():
            raise DemoError(f"--{name.replace('_', '-')} {path}: no such file")
    if args.frames < 2:
        raise DemoError(f"--frames {args.frames}: a clip needs at least 2 frames")
    if args.size is not None and (args.size < 64 or args.size % 64):
        raise DemoError(f"--size {args.size}: use a multiple of 64 (at least 64)")
    return args


def find_user_model(folder: str, suffixes: tuple[str, ...], hint: str) -> Path | None:
    """A model from COMFYUI_DIR's own folder, when the user pointed at their ComfyUI."""
    if not os.environ.get("COMFYUI_DIR"):
        return None
    base = comfy_root() / "models" / folder
    found = (
        sorted(p for p in base.glob("*") if p.suffix in suffixes and hint in p.name.lower()) if base.is_dir() else []
    )
    return found[0] if found else None


def link_model(src: Path, folder: Path) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    dst = folder / src.name
    if not dst.exists():
        dst.symlink_to(src.resolve())
    return src.name


def main(argv: list[str]) -> int:
    if "--sd15" not in argv:
        from demo_wan import main as tiny_wan_main

        return tiny_wan_main(argv)
    argv = [a for a in argv if a != "--sd15"]
    try:
        args = parse_args(argv)
    except DemoError as e:
        print(f"demo: {e}", file=sys.stderr)
        return 2
    if not WORKFLOW.is_file():
        print(f"demo: {WORKFLOW.relative_to(ROOT)} is missing", file=sys.stderr)
        return 2
    out = args.output
    out.mkdir(parents=True, exist_ok=True)
    t_start = time.monotonic()

    checkpoint = args.checkpoint or find_user_model("checkpoints", (".safetensors", ".ckpt"), "")
    motion = args.motion_module or find_user_model(
        "animatediff_models", (".safetensors", ".ckpt", ".pth", ".pt"), "pia"
    )
    random_weights = checkpoint is None or motion is None
    size = args.size or (128 if random_weights else 512)
    steps = args.steps or (6 if random_weights else 25)
    t = time.monotonic()
    if checkpoint is None:
        checkpoint = demo_assets.random_checkpoint()
    if motion is None:
        motion = demo_assets.random_pia_module()
    t_models = time.monotonic() - t

    base = Path(tempfile.mkdtemp(prefix="iv-demo-"))
    server = ComfyServer(
        base, extra_args=("--output-directory", str(out / "comfyui")), log_path=out / "demo-server.log"
    )
    prompt = json.loads(WORKFLOW.read_text())
    nodes = demo_assets.by_title(prompt)
    prompt[nodes["Load SD1.5 checkpoint"]]["inputs"]["ckpt_name"] = link_model(
        checkpoint, server.base / "models" / "checkpoints"
    )
    prompt[nodes["Load motion module"]]["inputs"]["motion_module"] = link_model(
        motion, server.base / "models" / "animatediff_models"
    )
    image = args.image.read_bytes() if args.image else (demo_assets.sample_image(size) if random_weights else None)
    try:
        t = time.monotonic()
        server.start()
        t_server = time.monotonic() - t
        ours = [k for k, v in server.object_info().items() if v.get("python_module", "").endswith(PACK_NAME)]
        demo_assets.configure(prompt, nodes, server, frames=args.frames, size=size, steps=steps, image=image)
        t = time.monotonic()
        history = server.run(prompt, timeout=3600)
        t_run = time.monotonic() - t
        files = demo_assets.collect(server, history, nodes, out)
    except ServerError as e:
        print(f"demo: the pipeline failed: {str(e).splitlines()[0]} (server log: {server.log_path})", file=sys.stderr)
        return 1
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)

    stage_seconds = {
        stage: sum(server.node_seconds.get(nodes[t], 0.0) for t in titles if t in nodes)
        for stage, titles in STAGES.items()
    }
    lines = [
        "InteractiveVideo demo: the full pipeline through a real ComfyUI server (headless)",
        f"  ComfyUI:        {comfy_root()} with {PACK_NAME} ({len(ours)} nodes registered, no import error)",
        f"  checkpoint:     {checkpoint}",
        f"  motion module:  {motion}",
        f"  weights:        {'RANDOM (generated): frames look like noise; this run exercises the pipeline' if random_weights else 'as given'}",
        f"  clip:           {args.frames} frames at {size}x{size}, {steps} steps",
        f"  set-up:         models {t_models:.1f}s, server start {t_server:.1f}s",
        *[f"  stage {stage + ':':<72}{secs:7.1f}s" for stage, secs in stage_seconds.items()],
        f"  whole prompt:   {t_run:.1f}s; demo total {time.monotonic() - t_start:.1f}s",
        *[f"  wrote {label + ':':<16}{path}" for label, path in files.items()],
    ]
    report = "\n".join(lines)
    (out / "report.txt").write_text(report + "\n")
    print(report)
    print(f"demo: ok, {len(files)} files in {out} (report: {out / 'report.txt'})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
