"""The default demo: a drag and a paint on the small Wan 2.1 model trained here, through a real ComfyUI server.

    bash scripts/demo.sh [--image PNG] [--steps 20] [--seed 0] [--output output/]
    bash scripts/demo.sh --sd15 ...      # the full SD1.5 + PIA pipeline instead (random weights unless given)

See devkit/demo_wan.py for the scene, the graph and the measures; scripts/demo.py for --sd15.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from comfyui_interactivevideo.devkit import demo_wan
from comfyui_interactivevideo.devkit.paths import PACK_NAME, REPO, comfy_root
from comfyui_interactivevideo.devkit.pipeline import by_title
from comfyui_interactivevideo.devkit.server import ComfyServer, ServerError
from comfyui_interactivevideo.devkit.tiny_wan import files
from comfyui_interactivevideo.devkit.tiny_wan.config import FRAMES, SHIFT, SIZE
from comfyui_interactivevideo.devkit.tiny_wan.scenes import png


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="bash scripts/demo.sh",
        description="A drag and a paint on the small Wan 2.1 image-to-video model trained here (add --sd15 for the "
        "full SD1.5 + PIA pipeline; `bash scripts/demo.sh --sd15 --help` for its options).",
    )
    p.add_argument(
        "--image",
        type=Path,
        help=f"start from this picture (resized to {SIZE}x{SIZE}) instead of a "
        "procedural scene; the drag starts at the scene's object position and nothing is measured",
    )
    p.add_argument("--steps", type=int, default=20, help="sampling steps (default 20)")
    p.add_argument("--seed", type=int, default=0, help="noise seed, the same for both renders (default 0)")
    p.add_argument("--scene", type=int, default=0, help="which procedural scene (default 0)")
    p.add_argument("--output", type=Path, default=REPO / "output", help="output folder (default output/)")
    args = p.parse_args(argv)
    if args.image is not None and not args.image.is_file():
        p.error(f"--image {args.image}: no such file")
    if not 1 <= args.steps <= 200:
        p.error(f"--steps {args.steps}: use 1 to 200")
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    out = args.output
    out.mkdir(parents=True, exist_ok=True)
    t_start = time.monotonic()
    scene = demo_wan.demo_scene(args.scene)
    image_png = png(scene.image)
    if args.image is not None:
        picture = Image.open(args.image).convert("RGB").resize((SIZE, SIZE), Image.LANCZOS)
        scene.clip.frames[0] = np.asarray(picture) / 255.0
        image_png = png(np.asarray(picture))

    base = Path(tempfile.mkdtemp(prefix="iv-demo-"))
    server = ComfyServer(
        base,
        extra_args=("--output-directory", str(out / "comfyui")),
        log_path=out / "demo-server.log",
        fixture_nodes=True,
    )
    demo_wan.link_models(server)
    last = {"t": None, "value": 0}
    titles: dict[str, str] = {}

    def progress(node, value, maximum):
        now = time.monotonic()
        per_step = (
            ""
            if last["t"] is None or value <= last["value"]
            else f", {(now - last['t']) / (value - last['value']):.2f} s/step"
        )
        print(f"  {titles.get(node, node)}: step {value}/{maximum}{per_step}", flush=True)
        last.update(t=None if value >= maximum else now, value=0 if value >= maximum else value)

    try:
        t = time.monotonic()
        print("demo: starting ComfyUI ...", flush=True)
        server.start()
        t_server = time.monotonic() - t
        print(
            f"demo: rendering {FRAMES} frames of {SIZE}x{SIZE}, {args.steps} steps, with and without the instructions",
            flush=True,
        )
        titles.update(
            {
                k: v["_meta"]["title"]
                for k, v in demo_wan.prompt(
                    {"image": "", "tracks": "", "paint": ""}, "", "", FRAMES, args.steps, args.seed
                ).items()
            }
        )
        t = time.monotonic()
        result = demo_wan.render_on_server(server, scene, args.steps, args.seed, image_png, progress)
        t_run = time.monotonic() - t
    except ServerError as e:
        print(f"demo: the render failed: {str(e).splitlines()[0]} (server log: {server.log_path})", file=sys.stderr)
        return 1
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)
    frames, written, ids = result.frames, dict(result.files), by_title(result.prompt)

    rows = {"with instructions": frames["with"], "without": frames["without"]}
    written["frame_strip.png"] = demo_wan.frame_strip(rows, scene)
    for name, data in written.items():
        (out / name).write_bytes(data)
    sampler_s = {
        label: server.node_seconds.get(ids[f"Sample ({label} instructions)"], 0.0) for label in ("with", "without")
    }
    lines = [
        "InteractiveVideo demo: a drag and a paint on the small Wan 2.1 I2V model trained here (devkit/tiny_wan)",
        f"  ComfyUI:        {comfy_root()} with {PACK_NAME}",
        f"  models:         {files.dit_file().name}, {files.vae_file().name} (trained on procedural clips; "
        "not a substitute for Wan)",
        f"  scene:          {'--image ' + str(args.image) if args.image else f'procedural scene {args.scene}'}; "
        f"{FRAMES} frames of {SIZE}x{SIZE}, {args.steps} steps euler/simple, shift {SHIFT}, cfg 1, seed {args.seed}",
        f"  instructions:   drag the {_colour(scene, scene.dragged)} {scene.clip.objects[scene.dragged].kind} along "
        f"a curved track of {np.linalg.norm(np.diff(scene.track, axis=0), axis=1).sum():.0f} px; paint the "
        f"{_colour(scene, scene.painted)} {scene.clip.objects[scene.painted].kind} {_name(scene.new_colour)}; "
        "Image Align 'animation M'; Apply Instructions defaults (strength 1, 0 -> 0.8)",
    ]
    if args.image is None:
        m = {label: demo_wan.measure(frames[label], scene) for label in ("with", "without")}
        lines += [
            "  measured with a colour tracker on the decoded frames (px; the picture is 128 px wide):",
            f"    {'':34}{'with':>10}{'without':>10}",
            f"    {'mean distance to the track':34}{m['with'].mean_distance:10.1f}{m['without'].mean_distance:10.1f}",
            f"    {'final distance to the track':34}{m['with'].final_distance:10.1f}"
            f"{m['without'].final_distance:10.1f}",
            f"    {'dragged object found (frames)':34}{m['with'].found:10.0%}{m['without'].found:10.0%}",
            f"    {'paint colour error (/255)':34}{m['with'].paint_error:10.1f}{m['without'].paint_error:10.1f}",
        ]
    else:
        lines.append("  measures:       none (a picture of your own has no ground truth to track against)")
    lines += [
        f"  time:           server start {t_server:.1f}s, whole prompt {t_run:.1f}s (sampling with "
        f"{sampler_s['with']:.1f}s, without {sampler_s['without']:.1f}s), demo total {time.monotonic() - t_start:.1f}s",
        *[f"  wrote {name + ':':<34}{out / name}" for name in written],
    ]
    report = "\n".join(lines)
    (out / "report.txt").write_text(report + "\n")
    print(report)
    print(f"demo: ok, {len(written) + 1} files in {out} (report: {out / 'report.txt'})")
    return 0


def _name(colour: np.ndarray) -> str:
    from comfyui_interactivevideo.devkit.clips import OBJECT_COLOUR_NAMES, OBJECT_PALETTE

    return OBJECT_COLOUR_NAMES[int(np.argmin(np.abs(OBJECT_PALETTE - colour).sum(1)))]


def _colour(scene, index: int) -> str:
    return _name(scene.clip.objects[index].colour)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
