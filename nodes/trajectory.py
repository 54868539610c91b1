"""Trajectory nodes: draw tracks and paint on the intermediate image, turn tracks into dense flow, preview motion.

The editor widget (web/js/trajectory_*.js, paint_*.js) only writes the ``tracks`` STRING and the ``paint`` path of
an uploaded layer file; everything here also runs headless from hand-typed or API-supplied values.
"""

from __future__ import annotations

import hashlib
import logging
import warnings
from dataclasses import replace

import torch
from comfy_api.latest import io, ui

from ..core.flow import Flow as FlowPayload
from ..core.flow import flow_bytes, tracks_to_flow
from ..core.flow_color import flow_to_color
from ..core.paint import composite_paint, load_layer
from ..core.trajectory import from_point_tracks, parse_tracks, to_point_tracks
from ..core.warp import warp
from .checks import MAX_TEXT_CHARS, checked, require_memory
from .comfy_internals import blocked_output, interrupt_check, resolve_input_file
from .iv_types import Flow, Tracks

log = logging.getLogger(__name__)

EMPTY_TRACKS = '{"version": 1, "tracks": []}'
# ComfyUI's core point-track type (TRACKS: {"track_path": [T, N, 2] pixels, "track_visibility": [T, N] bool}),
# present from ComfyUI's Wan-Move nodes on; on an older ComfyUI the inputs and outputs using it are simply absent.
CoreTracks = getattr(io, "Tracks", None)
# The SD1.5 VAE (the pack's model family) maps 8 pixels to one latent cell.
LATENT_SCALE = 8


class IV_TrajectoryEditor(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="IV_TrajectoryEditor",
            display_name="Edit Canvas: Tracks + Paint (IV)",
            category="InteractiveVideo/trajectory",
            description=(
                "The interaction surface on the intermediate image: drag objects along paths and paint over it. "
                "Tracks mode: drag on the image to draw a track, click to pin an anchor that holds a region still, "
                "drag a point to move it; per track set the radius of the region it carries; the frame slider "
                "shows where every region is in each frame. Paint mode: brush colour, size, opacity, eraser, "
                "undo/redo. The tracks are stored as JSON in `tracks` (also typed or sent over the API: this pack's "
                "format, WanTrackToVideo / KJNodes Spline Editor lists, DragNUWA [[x, y], ...] lists); the paint "
                "layer is a PNG in ComfyUI's input folder named by `paint`. Outputs the tracks, the painted image "
                "and the paint mask (its coverage) for Paint Encode. An output node: select it and run only it "
                "(▶ above the selection) to make just the picture it draws on, before rendering any video."
            ),
            # Runnable on its own (the frontend's "execute to selected output nodes"): a generated intermediate
            # image reaches the canvas without the video stages running.
            is_output_node=True,
            inputs=[
                io.String.Input(
                    "tracks",
                    multiline=True,
                    default=EMPTY_TRACKS,
                    tooltip=(
                        'Tracks as JSON: {"version": 1, "width": W, "height": H, "tracks": [{"points": [[x, y], ...], '
                        '"frames": [...], "radius": r, "mask": k, "anchor": false}]}, in pixels of the reference '
                        "image (origin top-left). The editor writes this for you. At most "
                        f"{MAX_TEXT_CHARS:,} characters, 2048 tracks, coordinates within ±1,000,000 pixels."
                    ),
                ),
                io.Int.Input(
                    "frames",
                    default=16,
                    min=1,
                    max=4096,
                    tooltip="Frames in the clip; a track without keyframes spans all of them at constant speed.",
                ),
                io.Image.Input(
                    "reference",
                    optional=True,
                    tooltip=(
                        "The intermediate image to draw on. Its size is the track space when the JSON states none; "
                        "after a run the editor shows it. Required when `paint` is set."
                    ),
                ),
                io.String.Input(
                    "paint",
                    default="",
                    optional=True,
                    tooltip=(
                        "The paint layer: an RGBA PNG (straight alpha) relative to ComfyUI's input folder, e.g. "
                        "interactivevideo/iv-paint-1a2b3c.png. The canvas uploads it after each stroke; empty means "
                        "no paint (painted = reference, mask = 0). A layer of another size is resized to the image."
                    ),
                ),
            ],
            outputs=[
                Tracks.Output(
                    display_name="tracks",
                    tooltip="The tracks in the reference image's pixels, with the frame count, for Trajectory to Flow.",
                ),
                io.Image.Output(display_name="painted", tooltip="The reference image with the paint layer over it."),
                io.Mask.Output(display_name="paint_mask", tooltip="Where paint covers the image (the layer's alpha)."),
                *(
                    [
                        CoreTracks.Output(
                            display_name="core_tracks",
                            tooltip="The same tracks as ComfyUI's core TRACKS (one point per frame in the reference "
                            "image's pixels, smooth interpolation), for core nodes such as WanMoveVisualizeTracks or "
                            "WanMoveTrackToVideo.",
                        )
                    ]
                    if CoreTracks is not None
                    else []
                ),
            ],
        )

    @classmethod
    def fingerprint_inputs(cls, paint: str = "", **_) -> str:
        # The canvas overwrites its layer file in place under the same name: re-run when its bytes change.
        if not (paint or "").strip():
            return ""
        try:
            path = resolve_input_file(paint, "paint layer")
        except (OSError, ValueError):
            return f"missing:{paint}"  # execute raises the actionable error
        with open(path, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()

    @classmethod
    @checked
    def execute(cls, tracks: str, frames: int, reference: torch.Tensor | None = None, paint: str = "") -> io.NodeOutput:
        parsed = parse_tracks(tracks)
        if reference is not None:
            parsed = parsed.with_size(int(reference.shape[2]), int(reference.shape[1]))
        for message in parsed.warnings:
            log.warning("IV_TrajectoryEditor: %s", message)
        parsed = replace(parsed, frame_count=int(frames))
        core = () if CoreTracks is None else (cls.core_tracks(parsed, reference),)
        if reference is None:
            if (paint or "").strip():
                raise ValueError(
                    f"IV_TrajectoryEditor: paint layer {paint!r} is set but no reference image is connected; "
                    "connect the image to paint on to `reference`, or clear `paint`."
                )
            # Tracks alone are fine; only a node that uses painted/paint_mask fails, and says why.
            missing = blocked_output(
                "IV_TrajectoryEditor: `painted` and `paint_mask` need an image; connect one to `reference`."
            )
            return io.NodeOutput(parsed, missing, missing, *core)
        painted, mask = cls.paint(reference, paint)
        return io.NodeOutput(parsed, painted, mask, *core, ui=ui.PreviewImage(reference[:1], cls=cls))

    @staticmethod
    def core_tracks(tracks, reference: torch.Tensor | None) -> dict:
        """ComfyUI's TRACKS for these tracks: {"track_path": [F, N, 2], "track_visibility": [F, N]}."""
        if reference is not None:
            width, height = int(reference.shape[2]), int(reference.shape[1])
        else:
            width, height = tracks.width or 512, tracks.height or 512
        path, visible = to_point_tracks(tracks, tracks.frame_count, width, height, "smooth")
        return {"track_path": torch.from_numpy(path), "track_visibility": torch.from_numpy(visible)}

    @staticmethod
    def paint(reference: torch.Tensor, paint: str) -> tuple[torch.Tensor, torch.Tensor]:
        """reference [B, H, W, 3] -> (painted [B, H, W, 3], mask [B, H, W])"""
        if not (paint or "").strip():
            b, h, w, _ = reference.shape
            return reference, torch.zeros(b, h, w, device=reference.device, dtype=reference.dtype)
        layer = load_layer(resolve_input_file(paint, "IV_TrajectoryEditor: paint layer"))
        return composite_paint(reference, layer)


class IV_TrajectoryToFlow(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="IV_TrajectoryToFlow",
            display_name="Trajectory to Flow (IV)",
            category="InteractiveVideo/trajectory",
            description=(
                "Turn tracks into dense backward optical flow per frame. Each track's region (a disk of its radius, "
                "or a mask) moves rigidly along it; the surroundings give way smoothly and never fold over, however "
                "long the drag; anchors stay still. Outputs the flow, the per-frame weight of where motion was "
                "specified (MASK), and a colour-wheel picture of the motion (IMAGE)."
            ),
            inputs=[
                Tracks.Input(
                    "tracks",
                    optional=True,
                    tooltip="Tracks from Edit Canvas: Tracks + Paint (IV) (or connect core TRACKS below instead).",
                ),
                io.Int.Input(
                    "width",
                    default=512,
                    min=8,
                    max=8192,
                    step=8,
                    tooltip="Flow width in pixels (ignored when an image or latent is connected).",
                ),
                io.Int.Input(
                    "height",
                    default=512,
                    min=8,
                    max=8192,
                    step=8,
                    tooltip="Flow height in pixels (ignored when an image or latent is connected).",
                ),
                io.Combo.Input(
                    "interpolation",
                    options=["smooth", "linear"],
                    default="smooth",
                    tooltip="Path between points: smooth (monotone cubic, no overshoot) or straight segments.",
                ),
                io.Float.Input(
                    "falloff",
                    default=1.0,
                    min=0.05,
                    max=8.0,
                    step=0.05,
                    tooltip="How far around a region its motion fades out, in multiples of its radius.",
                ),
                io.Float.Input(
                    "radius",
                    default=0.0,
                    min=0.0,
                    max=4096.0,
                    step=1.0,
                    tooltip="Region radius in reference pixels for tracks that set none; 0: 1/12 of the shorter side.",
                ),
                io.Image.Input(
                    "size_from_image", optional=True, tooltip="Take width and height from this image instead."
                ),
                io.Latent.Input(
                    "size_from_latent",
                    optional=True,
                    tooltip="Take width and height from this latent (8 pixels per latent cell) instead.",
                ),
                io.Mask.Input(
                    "masks",
                    optional=True,
                    tooltip='Region masks at frame 0; a track with "mask": k moves masks[k] instead of a disk.',
                ),
                *(
                    [
                        CoreTracks.Input(
                            "core_tracks",
                            optional=True,
                            tooltip="ComfyUI's core TRACKS instead of the editor's (GenerateTracks, "
                            "WanMoveTracksFromCoords from a spline editor, ...): one point per frame in pixels of this "
                            "flow's size; a track moves its region through the frames where it is visible and holds "
                            "still before and after; each region is a disk of 'radius'.",
                        )
                    ]
                    if CoreTracks is not None
                    else []
                ),
            ],
            outputs=[
                Flow.Output(display_name="flow"),
                io.Mask.Output(display_name="weight"),
                io.Image.Output(display_name="flow_colors"),
            ],
        )

    @classmethod
    @checked
    def execute(
        cls,
        width: int,
        height: int,
        interpolation: str,
        falloff: float,
        radius: float,
        size_from_image: torch.Tensor | None = None,
        size_from_latent: dict | None = None,
        masks: torch.Tensor | None = None,
        tracks=None,
        core_tracks: dict | None = None,
    ) -> io.NodeOutput:
        tracks = cls.either_tracks(tracks, core_tracks)
        if size_from_latent is not None:
            height, width = (int(s) * LATENT_SCALE for s in size_from_latent["samples"].shape[-2:])
        elif size_from_image is not None:
            height, width = int(size_from_image.shape[1]), int(size_from_image.shape[2])
        if tracks.frame_count is None:
            raise ValueError(
                "IV_TrajectoryToFlow: these tracks carry no frame count; make them with IV_TrajectoryEditor"
            )
        require_memory(
            cls,
            flow_bytes(tracks.frame_count, height, width),
            f"a flow of {tracks.frame_count} frames at {width}x{height}",
            "the frames (Edit Canvas) or the size (width/height, or the connected image/latent)",
        )
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            flow, weight = tracks_to_flow(
                tracks,
                tracks.frame_count,
                height,
                width,
                masks,
                interpolation=interpolation,
                falloff=falloff,
                radius=radius or None,
                check=interrupt_check,
            )
        for w in caught:
            log.warning("IV_TrajectoryToFlow: %s", w.message)
        # Colours show where things move to (the motion), the opposite of the backward flow's vectors.
        return io.NodeOutput(FlowPayload(flow, weight), weight, flow_to_color(-flow, check=interrupt_check))

    @staticmethod
    def either_tracks(tracks, core_tracks: dict | None):
        """The editor's tracks, or core TRACKS read as ours; exactly one of them."""
        if tracks is not None and core_tracks is not None:
            raise ValueError("IV_TrajectoryToFlow: both 'tracks' and 'core_tracks' are connected; connect one of them")
        if core_tracks is not None:
            try:
                path, visible = core_tracks["track_path"], core_tracks.get("track_visibility")
            except (TypeError, KeyError) as e:
                raise ValueError(
                    "IV_TrajectoryToFlow: 'core_tracks' must be ComfyUI TRACKS with 'track_path' [frames, tracks, 2]"
                ) from e
            return from_point_tracks(_numpy(path), None if visible is None else _numpy(visible))
        if tracks is None:
            raise ValueError(
                "IV_TrajectoryToFlow: no tracks: connect the editor's 'tracks' (or core TRACKS to 'core_tracks')"
            )
        return tracks


def _numpy(values):
    return values.detach().cpu().numpy() if isinstance(values, torch.Tensor) else values


class IV_MotionPreview(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="IV_MotionPreview",
            display_name="Motion Preview (IV)",
            category="InteractiveVideo/trajectory",
            description=(
                "The intermediate image warped along the flow, one frame per flow frame: instant feedback on a drag "
                "before any diffusion runs. Feed it to Save Animated WEBP or Create Video."
            ),
            inputs=[
                io.Image.Input("image", tooltip="The intermediate image (the first image of the batch is used)."),
                Flow.Input("flow", tooltip="Flow from Trajectory to Flow (IV); resized to the image if sizes differ."),
            ],
            outputs=[io.Image.Output(display_name="frames")],
        )

    @classmethod
    @checked
    def execute(cls, image: torch.Tensor, flow: FlowPayload) -> io.NodeOutput:
        # The resized flow, the sampling grid, the frames and their clamped copy: ~(6 + 2C) floats per pixel.
        frames, (h, w, c) = flow.frames, image.shape[1:]
        require_memory(cls, frames * h * w * (6 + 2 * c) * 4, f"{frames} frames at {w}x{h}", "the frames or the size")
        frames = warp(image[:1].movedim(-1, 1), flow.flow.to(image.device)).movedim(1, -1)
        return io.NodeOutput(frames.clamp(0.0, 1.0))
