"""Scenes rendered in this process through ComfyUI's nodes and the pack's, with the edits a user would make and
the sampling setups the semantic benchmark compares. Every node is the real one (``render.call``); what a scene
needs only once (the conditioning, the paint and alignment encodes) is made once per scene.

Edit kinds: ``drag`` (the first object along the track), ``paint`` (recolour the second), ``paint+drag`` (the
first, recoloured and dragged), ``drag & paint`` (the first dragged, the second recoloured), each optionally
``+ align`` (Image Align, 'animation M').
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch

from .config import FRAMES, SHIFT
from .render import call, start
from .scenes import Scene

KINDS = ("drag", "paint", "paint+drag", "drag & paint")
ALIGN_DEFAULT = "animation M"  # Image Align's default affinity preset


@dataclass(frozen=True)
class Setup:
    """How a clip is sampled and how the instructions act (Apply Instructions' inputs, the sampler around it)."""

    instructions: bool = True
    steering: str = "residual"
    strength: float = 1.0
    end: float = 0.8
    release: float = 0.9
    steps: int = 20
    flow_noise: bool = False
    two_stage: str = ""  # "": one KSampler; "both" / "first": KSamplerAdvanced halves, instructions on both / first
    affinity: str = ALIGN_DEFAULT  # Image Align's preset, when the edit aligns
    free_motion: str = "hold"  # Image Align's free_motion
    moved: bool = False  # Apply Instructions' 'moved': the motion preview through the VAE as the drag's target
    seed: int = 0

    def label(self) -> str:
        if not self.instructions:
            return f"no instructions, {self.steps} steps"
        parts = [
            self.steering if self.steering == "residual" else f"region clock (release {self.release:g})",
            f"strength {self.strength:g}",
            f"end {self.end:g}",
            f"{self.steps} steps",
        ]
        if self.flow_noise:
            parts.append("flow noise")
        if self.affinity != ALIGN_DEFAULT:
            parts.append(f"align {self.affinity}")
        if self.free_motion != "hold":
            parts.append(f"align free motion {self.free_motion}")
        if self.moved:
            parts.append("moved: motion preview through the VAE")
        if self.two_stage:
            parts.append("two-stage, instructions on " + ("both" if self.two_stage == "both" else "the first only"))
        return ", ".join(parts)


DEFAULT = Setup()


def image_tensor(array: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))[None]


class SceneRun:
    """One scene prepared for rendering: conditioning, flow, paints and alignment made once."""

    def __init__(self, scene: Scene, model, vae, frames: int = FRAMES, shift: float = SHIFT):
        self.scene, self.vae, self.frames = scene, vae, frames
        (self.model,) = call("ModelSamplingSD3", model=model, shift=shift)
        self.image = image_tensor(scene.image)
        self.positive, self.negative, self.latent = start(vae, self.image, frames)
        h, w = self.image.shape[1:3]
        (tracks, *_) = call("IV_TrajectoryEditor", tracks=scene.tracks_json(), frames=frames, reference=self.image)
        self.flow, _, _ = call(
            "IV_TrajectoryToFlow",
            width=w,
            height=h,
            interpolation="smooth",
            falloff=1.0,
            radius=0.0,
            tracks=tracks,
            size_from_image=self.image,
        )
        self.paints = {}
        for who in {scene.painted, scene.dragged}:
            painted = image_tensor(scene.painted_image(who))
            mask = torch.from_numpy(scene.paint_alpha(who).astype(np.float32))[None]
            (self.paints[who], _) = call(
                "IV_PaintEncode",
                vae=vae,
                original=self.image,
                painted=painted,
                mask=mask,
                threshold=0.04,
                grow=8,
                feather=8,
            )
        self.aligns: dict[tuple[str, str], dict] = {}
        self.moved_latents: dict[str, dict] = {}
        (self.still,) = call("VAEEncode", pixels=self.image.repeat(9, 1, 1, 1), vae=vae)

    def align(self, affinity: str = ALIGN_DEFAULT, free_motion: str = "hold"):
        """Image Align's IV_ALIGN with an affinity preset, encoded once per scene, preset and free_motion."""
        if (affinity, free_motion) not in self.aligns:
            (self.aligns[affinity, free_motion],) = call(
                "IV_ImageAlign",
                vae=self.vae,
                image=self.image,
                frames=self.frames,
                condition_frame=0,
                affinity=affinity,
                custom_affinity="1, 0.8, 0.7",
                free_motion=free_motion,
            )
        return self.aligns[affinity, free_motion]

    def instructions(
        self, kind: str, align: bool, affinity: str = ALIGN_DEFAULT, free_motion: str = "hold", moved: bool = False
    ) -> dict:
        """Apply Instructions' optional inputs for an edit kind."""
        s = self.scene
        out: dict = {}
        if kind in ("drag", "paint+drag", "drag & paint"):
            out["flow"] = self.flow
            if moved:
                out["moved"] = self.moved(kind)
        if kind == "paint":
            out["paint"] = self.paints[s.painted]
        elif kind == "paint+drag":
            out["paint"] = self.paints[s.dragged]
        elif kind == "drag & paint":
            out["paint"] = self.paints[s.painted]
        if align:
            out["align"] = self.align(affinity, free_motion)
        if "paint" not in out and "align" not in out:
            out["image"] = self.still  # a drag alone needs the image it moves
        return out

    def edited_image(self, kind: str) -> np.ndarray:
        s = self.scene
        if kind == "drag":
            return s.image
        return s.painted_image(s.dragged if kind == "paint+drag" else s.painted)

    def preview(self, kind: str) -> np.ndarray:
        """[F, H, W, 3] the motion preview alone (no model): the edited image moved along the flow."""
        image = image_tensor(self.edited_image(kind))
        if kind == "paint":
            return np.repeat(image.numpy(), self.frames, axis=0)
        (frames,) = call("IV_MotionPreview", image=image, flow=self.flow)
        return frames.numpy()

    def moved(self, kind: str) -> dict:
        """VAE Encode of the motion preview of the edited image: Apply Instructions' 'moved' LATENT."""
        if kind not in self.moved_latents:
            pixels = torch.from_numpy(np.ascontiguousarray(self.preview(kind), dtype=np.float32))
            (self.moved_latents[kind],) = call("VAEEncode", pixels=pixels, vae=self.vae)
        return self.moved_latents[kind]

    def patched(self, kind: str, align: bool, setup: Setup):
        (model,) = call(
            "IV_ApplyInstructions",
            model=self.model,
            strength=setup.strength,
            start_percent=0.0,
            end_percent=setup.end,
            curve="constant",
            steering=setup.steering,
            release_percent=setup.release,
            **self.instructions(kind, align, setup.affinity, setup.free_motion, setup.moved),
        )
        return model

    def sample(self, model, setup: Setup, second=None) -> dict:
        """The sampled LATENT: KSampler, KSamplerAdvanced halves (``second`` for the second half), or
        SamplerCustomAdvanced with Flow Noise."""
        import nodes

        common = dict(positive=self.positive, negative=self.negative)
        if setup.flow_noise:
            (noise,) = call("IV_FlowNoise", noise_seed=setup.seed, flow=self.flow, variation=0.0)
            (guider,) = call("CFGGuider", model=model, cfg=1.0, **common)
            (sampler,) = call("KSamplerSelect", sampler_name="euler")
            (sigmas,) = call("BasicScheduler", model=model, scheduler="simple", steps=setup.steps, denoise=1.0)
            out, _ = call(
                "SamplerCustomAdvanced",
                noise=noise,
                guider=guider,
                sampler=sampler,
                sigmas=sigmas,
                latent_image=self.latent,
            )
            return out
        if setup.two_stage:
            half = setup.steps // 2

            def advanced(m, add_noise: str, latent: dict, begin: int, end: int, leftover_noise: str) -> dict:
                (out,) = nodes.KSamplerAdvanced().sample(
                    m, add_noise, setup.seed, setup.steps, 1.0, "euler", "simple",
                    self.positive, self.negative, latent, begin, end, leftover_noise,
                )  # fmt: skip
                return out

            first = advanced(model, "enable", self.latent, 0, half, "enable")
            return advanced(second, "disable", first, half, 10000, "disable")
        (out,) = nodes.KSampler().sample(
            model,
            setup.seed,
            setup.steps,
            1.0,
            "euler",
            "simple",
            self.positive,
            self.negative,
            self.latent,
            denoise=1.0,
        )
        return out

    def render(self, kind: str, align: bool, setup: Setup = DEFAULT) -> np.ndarray:
        """[F, H, W, 3] decoded frames in 0..1."""
        model = self.patched(kind, align, setup) if setup.instructions else self.model
        second = None
        if setup.two_stage:
            second = model if setup.two_stage == "both" else self.model
        out = self.sample(model, setup, second)
        (frames,) = call("VAEDecode", samples=out, vae=self.vae)
        return frames.reshape(-1, *frames.shape[-3:])[: self.frames].clamp(0, 1).numpy()


def variants() -> list[Setup]:
    """The settings compared with the defaults, each one change away from them."""
    d = DEFAULT
    return [
        replace(d, steering="region clock", release=0.7),
        replace(d, steering="region clock", release=0.9),
        replace(d, flow_noise=True),
        replace(d, strength=0.25),
        replace(d, strength=0.5),
        replace(d, end=0.6),
        replace(d, end=1.0),
        replace(d, steps=4),
        replace(d, two_stage="both"),
        replace(d, two_stage="first"),
        replace(d, affinity="animation L"),
        replace(d, affinity="style transfer M"),
    ]
