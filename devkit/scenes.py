"""Small latent scenes with known answers, for testing that instructions land where the user put them.

A scene is a latent video V (what the model would make on its own), an intermediate image z₀, a paint and a drag
of whole latent cells, so every expected value is a plain shift (``torch.roll``) computed without the pack's warp
code. Latent 16×16 cells of 8 image pixels, 4 frames; the dragged disk moves 1 cell down and 2 right per frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..core.alignment import frame_affinity
from ..core.flow import Flow
from ..core.instructions import Align, Paint

FRAMES, H, W, SCALE = 4, 16, 16, 8
STEP = (1, 2)  # cells down, right per frame


def disk(cy: float, cx: float, r: float = 2.5, h: int = H, w: int = W) -> torch.Tensor:
    """[h, w] 1 inside the disk, 0 outside."""
    ys, xs = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    return (((ys - cy) ** 2 + (xs - cx) ** 2) <= r * r).float()


def shift(t: torch.Tensor, f: int) -> torch.Tensor:
    """Frame f's view of frame-0 content under the drag: moved by f·STEP cells (last two dims); what enters at
    the top-left edge repeats the edge (as a warp with border padding does)."""
    h, w = t.shape[-2:]
    rows = (torch.arange(h) - STEP[0] * f).clamp(0, h - 1)
    cols = (torch.arange(w) - STEP[1] * f).clamp(0, w - 1)
    return t[..., rows, :][..., cols]


def translation_flow(weight_cells: torch.Tensor) -> Flow:
    """A global backward translation by f·STEP cells (in image pixels) whose weight, given per cell
    [F, H, W], marks the dragged region."""
    flow = torch.zeros(FRAMES, H * SCALE, W * SCALE, 2)
    for f in range(FRAMES):
        flow[f, ..., 0] = -STEP[1] * f * SCALE
        flow[f, ..., 1] = -STEP[0] * f * SCALE
    weight = weight_cells.repeat_interleave(SCALE, 1).repeat_interleave(SCALE, 2)
    return Flow(flow, weight)


@dataclass
class Scene:
    video: torch.Tensor  # [F, 4, H, W] raw latent: the model's own video V
    image: torch.Tensor  # [1, 4, H, W] raw latent z₀ of the intermediate image
    painted: torch.Tensor  # [1, 4, H, W] z₀′: z₀ with the paint
    paint_region: torch.Tensor  # [H, W]
    dragged: torch.Tensor  # [F, H, W] the dragged disk at each frame
    affinity: torch.Tensor  # [F]

    def paint(self) -> Paint:
        return Paint(original=self.image, painted=self.painted, region=self.paint_region.view(1, 1, H, W))

    def flow(self) -> Flow:
        return translation_flow(self.dragged)

    def align(self) -> Align:
        return Align(image=self.image, affinity=self.affinity)

    def instructions(self, roles: set[str]) -> dict:
        """The inputs of Apply Instructions (IV) for ``roles``; a drag on its own gets the image's latent."""
        return _instructions(self, roles, {"samples": self.image})

    def edited(self) -> torch.Tensor:
        """[4, H, W] the image with the paint on it (hard region)."""
        m = self.paint_region
        return self.painted[0] * m + self.image[0] * (1 - m)

    def expected(self, roles: set[str], strength: float = 1.0) -> torch.Tensor:
        """What the user asked for, frame by frame, written out role by role (not through core.instructions):
        inside (moved) paint the paint, inside the dragged disk the moved image, elsewhere the model pulled toward
        the moved, edited image by each frame's affinity. With ``strength`` s each pull is scaled by s.
        returns [F, 4, H, W]"""
        out = []
        for f in range(FRAMES):
            moved = "drag" in roles
            edited = self.edited() if "paint" in roles else self.image[0]
            target = shift(edited, f) if moved else edited
            weight = torch.zeros(H, W)
            if "align" in roles:
                weight = torch.full((H, W), float(self.affinity[f]))
            if "drag" in roles:
                weight = torch.maximum(weight, self.dragged[f])
            if "paint" in roles:
                weight = torch.maximum(weight, shift(self.paint_region, f) if moved else self.paint_region)
            out.append(self.video[f] + strength * weight * (target - self.video[f]))
        return torch.stack(out)


def scene(seed: int = 7) -> Scene:
    """A paint stroke (a small disk at cell (5, 5)) on the dragged object (a disk centred at (4, 4)), so the paint
    travels with the drag; the affinity decays 1 → 0.8 → 0.7 over the frames."""
    gen = torch.Generator().manual_seed(seed)
    video = torch.randn(FRAMES, 4, H, W, generator=gen) * 5
    image = torch.randn(1, 4, H, W, generator=gen) * 5
    painted = torch.randn(1, 4, H, W, generator=gen) * 5
    region = disk(5, 5, r=1.5)
    dragged = torch.stack([shift(disk(4, 4), f) for f in range(FRAMES)])
    return Scene(video, image, painted, region, dragged, frame_affinity(FRAMES, 0, (1.0, 0.8, 0.7)))


def mean_rule(sc: Scene, roles: set[str]) -> torch.Tensor:
    """The pack's old rule, for control tests: each instruction its own target, overlapping regions averaged
    (x̂₀ + Σ M_k (T_k − x̂₀) / max(1, Σ M_k)), alignment toward the still, unpainted image."""
    out = []
    for f in range(FRAMES):
        v = sc.video[f]
        moved = "drag" in roles
        pulls, total = torch.zeros_like(v), torch.zeros(H, W)
        if "paint" in roles or moved:
            source = sc.painted[0] if "paint" in roles else sc.image[0]
            region = sc.paint_region if "paint" in roles else torch.zeros(H, W)
            target = shift(source, f) if moved else source
            region = torch.maximum(shift(region, f), sc.dragged[f]) if moved else region
            pulls, total = pulls + region * (target - v), total + region
        if "align" in roles:
            a = float(sc.affinity[f])
            pulls, total = pulls + a * (sc.image[0] - v), total + a
        out.append(v + pulls / total.clamp(min=1.0))
    return torch.stack(out)


def change_made(
    out: torch.Tensor, plain: torch.Tensor, target: torch.Tensor, where: torch.Tensor
) -> tuple[float, float]:
    """How much of the asked-for change a run made, inside ``where`` (a bool mask broadcastable to the tensors):
    ``plain`` is the run without the instructions, ``target`` what they ask for, d = target − plain the change.

    returns (along, across): along = ⟨out − plain, d⟩ / ‖d‖², the share of the change made in its direction (1 all
    of it, 0 none, 2 twice it, negative away from the target); across = ‖out − plain − along·d‖ / ‖d‖, any change
    in another direction (a pull of the right size toward a wrong target shows here), relative to the change."""
    where = where.expand_as(out)
    made, asked = (out - plain)[where].double(), (target - plain)[where].double()
    along = float(made @ asked / (asked @ asked))
    across = float((made - along * asked).norm() / asked.norm())
    return along, across


def busy_tracks(size: int = 512, count: int = 8, seed: int = 0) -> dict:
    """``count`` drags of 80-220 px on a size² image, half of them curved (3 points), radii 20-40 px: a busy but
    plausible edit (the benchmarks' scene), in the pack's tracks format."""
    import numpy as np

    rng = np.random.default_rng(seed)
    tracks = []
    for i in range(count):
        start = rng.uniform(80, size - 80, 2)
        angle, length = rng.uniform(0, 2 * np.pi), rng.uniform(80, 220)
        end = np.clip(start + length * np.array([np.cos(angle), np.sin(angle)]), 0, size)
        points = [start, end] if i % 2 else [start, (start + end) / 2 + rng.uniform(-40, 40, 2), end]
        tracks.append({"points": [p.tolist() for p in points], "radius": float(rng.uniform(20, 40))})
    return {"version": 1, "width": size, "height": size, "tracks": tracks}


# --- Video latents of a causal VAE (Wan): latent frame k ≥ 1 encodes pixel frames 4k−3 … 4k --------------------
VIDEO_LATENT_FRAMES, VIDEO_STRIDE = 4, 4
VIDEO_PIXEL_FRAMES = VIDEO_STRIDE * (VIDEO_LATENT_FRAMES - 1) + 1  # 13
JITTER = 4  # pixels; alternating ± within each group of 4 pixel frames, so each group's mean motion is whole cells


def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header declares width × height pixels and whose data is empty: what a decompression bomb
    shows a reader that checks the size before decoding (Pillow refuses more than 2 × MAX_IMAGE_PIXELS on open)."""
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")

    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes((1, 0, 0, 0, 0))  # 1-bit grey
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


def group_of(f: int) -> int:
    """The latent frame holding pixel frame f, written out for the scene (not through core.frames)."""
    return 0 if f == 0 else (f - 1) // VIDEO_STRIDE + 1


@dataclass
class VideoScene:
    """A 5-D scene: V [1, C, T, H, W], the image's three still codes (latent frames 0, 1, ≥ 2 differ under a causal
    VAE), a paint on them, and per-pixel-frame flow, drag weight and affinity that latent frames must read through
    the causal mapping: the motion jitters by ±JITTER px inside each group (mean: k·STEP cells), the drag weight is
    present in only the first two frames of each group, the affinity decays frame by frame."""

    video: torch.Tensor  # [1, C, T, H, W] raw latent
    codes: torch.Tensor  # [3, C, H, W] the image held still, latent frames 0, 1, ≥ 2
    painted: torch.Tensor  # [3, C, H, W] the painted image held still
    paint_region: torch.Tensor  # [H, W]
    dragged: torch.Tensor  # [T, H, W] the dragged disk at latent frame k (moved k·STEP cells)
    affinity: torch.Tensor  # [F] per pixel frame
    scale: int = SCALE

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.video.shape)

    def paint(self) -> Paint:
        h, w = self.paint_region.shape
        return Paint(original=self.codes, painted=self.painted, region=self.paint_region.view(1, 1, h, w))

    def flow(self) -> Flow:
        h, w = self.paint_region.shape
        flow = torch.zeros(VIDEO_PIXEL_FRAMES, h * self.scale, w * self.scale, 2)
        weight = torch.zeros(VIDEO_PIXEL_FRAMES, h, w)
        for f in range(VIDEO_PIXEL_FRAMES):
            k = group_of(f)
            jitter = 0 if f == 0 else (JITTER if f % 2 else -JITTER)
            flow[f, ..., 0] = -(STEP[1] * k * self.scale + jitter)
            flow[f, ..., 1] = -(STEP[0] * k * self.scale + jitter)
            if f == 0 or (f - 1) % VIDEO_STRIDE < 2:
                weight[f] = self.dragged[k]
        weight = weight.repeat_interleave(self.scale, 1).repeat_interleave(self.scale, 2)
        return Flow(flow, weight)

    def align(self) -> Align:
        return Align(image=self.codes, affinity=self.affinity)

    def instructions(self, roles: set[str]) -> dict:
        """As ``Scene.instructions``; the image's latent is a 9-frame still through VAE Encode, [1, C, 3, h, w]:
        its three codes."""
        return _instructions(self, roles, {"samples": self.codes.transpose(0, 1).unsqueeze(0)})

    def group_affinity(self, k: int) -> float:
        frames = [f for f in range(VIDEO_PIXEL_FRAMES) if group_of(f) == k]
        return float(sum(float(self.affinity[f]) for f in frames) / len(frames))

    def expected(self, roles: set[str], strength: float = 1.0) -> torch.Tensor:
        """Latent frame by latent frame, as ``Scene.expected`` with frame k's code and k·STEP cells of motion.
        returns [1, C, T, H, W]"""
        m = self.paint_region
        out = []
        for k in range(self.video.shape[2]):
            v, code = self.video[0, :, k], self.codes[min(k, 2)]
            edited = self.painted[min(k, 2)] * m + code * (1 - m) if "paint" in roles else code
            moved = "drag" in roles
            target = shift(edited, k) if moved else edited
            weight = torch.zeros_like(m)
            if "align" in roles:
                weight = torch.full_like(m, self.group_affinity(k))
            if moved:
                weight = torch.maximum(weight, self.dragged[k])
            if "paint" in roles:
                weight = torch.maximum(weight, shift(m, k) if moved else m)
            out.append(v + strength * weight * (target - v))
        return torch.stack(out, dim=1).unsqueeze(0)


def video_scene(channels: int = 16, seed: int = 11, scale: int = SCALE) -> VideoScene:
    """Wan 2.1's 16 channels at /8 by default (Wan 2.2 TI2V: 48 channels, scale 16); 16×16 cells, 4 latent frames."""
    gen = torch.Generator().manual_seed(seed)
    video = torch.randn(1, channels, VIDEO_LATENT_FRAMES, H, W, generator=gen) * 2
    codes = torch.randn(3, channels, H, W, generator=gen) * 2
    painted = torch.randn(3, channels, H, W, generator=gen) * 2
    region = disk(5, 5, r=1.5)
    dragged = torch.stack([shift(disk(4, 4), k) for k in range(VIDEO_LATENT_FRAMES)])
    affinity = torch.linspace(1.0, 0.4, VIDEO_PIXEL_FRAMES)
    return VideoScene(video, codes, painted, region, dragged, affinity, scale)


def _instructions(sc, roles: set[str], image: dict) -> dict:
    kw = {}
    if "paint" in roles:
        kw["paint"] = sc.paint()
    if "drag" in roles:
        kw["flow"] = sc.flow()
    if "align" in roles:
        kw["align"] = sc.align()
    if roles == {"drag"}:
        kw["image"] = image
    return kw
