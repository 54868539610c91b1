// The drawing surface of the trajectory editor: the reference image with every track over it, and the mouse
// gestures that edit them. It knows nothing of ComfyUI; it edits `model` and calls `onChange()`.
//
//   drag on empty space        a new track from the press point to the release point
//   click on empty space       an anchor (a region held still) at that point
//   shift-click                add a point to the end of the selected track
//   drag a point               move it
//   right-click / Delete key   remove the point under the mouse / the selected point
//
// In paint mode (`mode === "paint"`) the pointer paints instead, through `paint` (a PaintTool).
//
// Drawing is event-driven: `draw()` marks the surface dirty and paints once on the next animation frame; nothing
// redraws unless something changed. Where a region is at the current frame comes from `positionOf(i)` (the server's
// positions, one interpolation with the flow); `preview`, when set, is shown instead of `image` (the warped frame).

import { appendPoint, defaultRadius, removePoint } from "./trajectory_model.js";

const HANDLE = 6; // css px
const COLOURS = ["#ff5a5a", "#4fc3f7", "#ffd54f", "#81c784", "#ba68c8", "#ff8a65", "#4db6ac", "#f06292"];

export class TrackCanvas {
  constructor(onChange) {
    this.canvas = document.createElement("canvas");
    this.canvas.className = "iv-track-canvas";
    this.canvas.tabIndex = 0;
    Object.assign(this.canvas.style, { width: "100%", height: "100%", display: "block", outline: "none" });
    this.ctx = this.canvas.getContext("2d");
    this.onChange = onChange;
    this.model = { version: 1, tracks: [] };
    this.image = null;
    this.preview = null; // the warped frame under the slider (an image of the reference's aspect), or null
    this.emptyHint = ""; // said on the canvas while it has no picture: how to get one
    this.positionOf = () => null; // (trackIndex) -> [x, y] at `frame`, or null where not known yet
    this.onLive = null; // called while a drag moves a point (the editor previews the motion meanwhile)
    this.onRendered = null;
    this.lastPointerUp = 0; // performance.now() of the last release (the latency bench reads it)
    this.dirty = false;
    this.frame = 0;
    this.frameCount = 16;
    this.selected = -1;
    this.selectedPoint = -1;
    this.drag = null;
    this.mode = "track";
    this.paint = null;
    this.canvas.addEventListener("pointerleave", () => this.pointerLeave());
    this.canvas.addEventListener("pointerdown", (e) => this.pointerDown(e));
    this.canvas.addEventListener("pointermove", (e) => this.pointerMove(e));
    this.canvas.addEventListener("pointerup", (e) => this.pointerUp(e));
    this.canvas.addEventListener("contextmenu", (e) => this.contextMenu(e));
    this.canvas.addEventListener("keydown", (e) => this.keyDown(e));
  }

  // -- geometry: track space (model width x height) <-> canvas pixels ------------------------------------
  space() {
    // Tracks live in the reference image's pixels: its natural size once known, else the tracks' own size.
    const w = this.model.width || this.image?.naturalWidth || 512;
    const h = this.model.height || this.image?.naturalHeight || 512;
    return [w, h];
  }

  fit() {
    const [w, h] = this.space();
    const scale = Math.min(this.canvas.width / w, this.canvas.height / h);
    return { scale, ox: (this.canvas.width - w * scale) / 2, oy: (this.canvas.height - h * scale) / 2 };
  }

  toTrack(e) {
    const rect = this.canvas.getBoundingClientRect();
    const cx = ((e.clientX - rect.left) / rect.width) * this.canvas.width;
    const cy = ((e.clientY - rect.top) / rect.height) * this.canvas.height;
    const { scale, ox, oy } = this.fit();
    return [(cx - ox) / scale, (cy - oy) / scale];
  }

  handleRadius() {
    const rect = this.canvas.getBoundingClientRect();
    return (HANDLE * (this.canvas.width / Math.max(rect.width, 1))) / this.fit().scale;
  }

  hit(p) {
    const reach = this.handleRadius() * 1.5;
    let best = null;
    this.model.tracks.forEach((t, i) =>
      t.points.forEach((q, k) => {
        const d = Math.hypot(q[0] - p[0], q[1] - p[1]);
        if (d <= reach && (!best || d < best.d)) best = { track: i, point: k, d };
      }),
    );
    return best;
  }

  // -- gestures -------------------------------------------------------------------------------------
  pointerDown(e) {
    if (e.button !== 0) return;
    e.preventDefault();
    e.stopPropagation();
    this.canvas.focus();
    this.canvas.setPointerCapture?.(e.pointerId);
    const p = this.toTrack(e);
    if (this.mode === "paint") {
      this.paint.pointerDown(p, this.space());
      this.draw();
      return;
    }
    const hit = this.hit(p);
    if (hit) {
      this.select(hit.track, hit.point);
      this.drag = { ...hit, moved: false };
    } else if (e.shiftKey && this.selected >= 0) {
      const track = this.model.tracks[this.selected];
      appendPoint(track, p, this.frameCount);
      this.select(this.selected, track.points.length - 1);
      this.drag = { track: this.selected, point: this.selectedPoint, moved: true };
    } else {
      this.ensureSpace();
      const track = { points: [p, [...p]], radius: defaultRadius(this.model), anchor: false };
      this.model.tracks.push(track);
      this.select(this.model.tracks.length - 1, 1);
      this.drag = { track: this.selected, point: 1, moved: false, created: true };
    }
    this.draw();
  }

  pointerMove(e) {
    if (this.mode === "paint") {
      if (this.paint.painting) e.stopPropagation();
      this.paint.pointerMove(this.toTrack(e), this.space());
      this.draw();
      return;
    }
    if (!this.drag) return;
    e.preventDefault();
    e.stopPropagation();
    this.model.tracks[this.drag.track].points[this.drag.point] = this.toTrack(e);
    this.drag.moved = true;
    this.draw();
    this.onLive?.();
  }

  pointerUp(e) {
    if (this.mode === "paint") {
      e.stopPropagation();
      this.paint.pointerUp();
      this.draw();
      return;
    }
    if (!this.drag) return;
    e.stopPropagation();
    this.lastPointerUp = performance.now();
    const { track, created } = this.drag;
    const t = this.model.tracks[track];
    if (created) {
      const [a, b] = t.points;
      if (Math.hypot(a[0] - b[0], a[1] - b[1]) < this.handleRadius()) {
        t.points = [a]; // a click, not a drag: a region held still
        t.anchor = true;
        this.selectedPoint = 0;
      }
    }
    this.drag = null;
    this.commit();
  }

  pointerLeave() {
    if (this.paint) this.paint.cursor = null;
    this.draw();
  }

  contextMenu(e) {
    e.preventDefault();
    e.stopPropagation();
    if (this.mode === "paint") return;
    const hit = this.hit(this.toTrack(e));
    if (hit) {
      removePoint(this.model, hit.track, hit.point);
      this.select(-1, -1);
      this.commit();
    }
  }

  keyDown(e) {
    if (this.mode !== "track") return;
    // (the editor forwards Delete / Backspace here while the pointer is over the canvas)
    if ((e.key === "Delete" || e.key === "Backspace") && this.selected >= 0 && this.selectedPoint >= 0) {
      e.preventDefault();
      e.stopPropagation();
      removePoint(this.model, this.selected, this.selectedPoint);
      this.select(-1, -1);
      this.commit();
    }
  }

  // -- state ----------------------------------------------------------------------------------------
  ensureSpace() {
    // Tracks are stored in the reference image's pixels; say which, so another size rescales them. Before any
    // image is known the tracks keep their own size (or none: Python then reads them in the image's pixels).
    if (!(this.model.width && this.model.height) && this.image?.naturalWidth) {
      this.model.width = this.image.naturalWidth;
      this.model.height = this.image.naturalHeight;
    }
  }

  select(track, point) {
    this.selected = track;
    this.selectedPoint = point;
    this.onSelect?.(track);
  }

  commit() {
    this.draw();
    this.onChange();
  }

  // -- drawing --------------------------------------------------------------------------------------
  draw() {
    if (this.dirty) return;
    this.dirty = true;
    requestAnimationFrame(() => this.render());
  }

  render() {
    this.dirty = false;
    const { ctx, canvas } = this;
    const [w, h] = this.space();
    const { scale, ox, oy } = this.fit();
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = "#1b1b1b";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.setTransform(scale, 0, 0, scale, ox, oy);
    const backdrop = this.preview ?? this.image;
    if (backdrop?.complete && backdrop.naturalWidth) ctx.drawImage(backdrop, 0, 0, w, h);
    else {
      ctx.fillStyle = "#333";
      ctx.fillRect(0, 0, w, h);
      this.drawHint();
      ctx.setTransform(scale, 0, 0, scale, ox, oy);
    }
    this.paint?.drawLayer(ctx, w, h);
    const px = 1 / scale;
    ctx.globalAlpha = this.mode === "paint" ? 0.6 : 1; // tracks stay visible but recede while painting
    this.model.tracks.forEach((t, i) => this.drawTrack(t, i, px));
    ctx.globalAlpha = 1;
    if (this.mode === "paint") this.paint.drawCursor(ctx, px, [w, h]);
    this.onRendered?.(backdrop);
  }

  // The hint, wrapped to the picture's area (the canvas is in device pixels, the area in track space).
  drawHint() {
    const { ctx } = this;
    const [w, h] = this.space();
    const { scale, ox, oy } = this.fit();
    const width = w * scale * 0.88;
    const size = Math.max(10, Math.round((w * scale) / 24));
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.font = `${size}px sans-serif`;
    ctx.fillStyle = "#bbb";
    ctx.textAlign = "center";
    const lines = [];
    for (const word of this.emptyHint.split(" ")) {
      const last = lines.length - 1;
      if (last >= 0 && ctx.measureText(`${lines[last]} ${word}`).width < width) lines[last] += ` ${word}`;
      else lines.push(word);
    }
    const [cx, cy] = [ox + (w * scale) / 2, oy + (h * scale) / 2];
    lines.forEach((line, k) => ctx.fillText(line, cx, cy + (k - (lines.length - 1) / 2) * size * 1.4));
    ctx.textAlign = "start";
  }

  drawTrack(track, i, px) {
    const { ctx } = this;
    const colour = track.anchor ? "#e0e0e0" : COLOURS[i % COLOURS.length];
    const selected = i === this.selected;
    const radius = track.radius ?? defaultRadius(this.model);
    const [cx, cy] = (this.frame > 0 && this.positionOf(i)) || track.points[0];
    ctx.beginPath();
    ctx.arc(cx, cy, radius, 0, 2 * Math.PI);
    ctx.fillStyle = colour + (track.anchor ? "33" : "40");
    ctx.fill();
    ctx.setLineDash(track.anchor ? [6 * px, 4 * px] : []);
    ctx.lineWidth = (selected ? 2.5 : 1.5) * px;
    ctx.strokeStyle = colour;
    ctx.stroke();
    ctx.setLineDash([]);
    if (track.points.length > 1) {
      ctx.beginPath();
      track.points.forEach(([x, y], k) => (k ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
      ctx.lineWidth = (selected ? 3 : 2) * px;
      ctx.stroke();
      this.drawArrow(track.points, colour, px);
    }
    track.points.forEach(([x, y], k) => {
      ctx.beginPath();
      ctx.arc(x, y, HANDLE * px * (selected && k === this.selectedPoint ? 1.3 : 1), 0, 2 * Math.PI);
      ctx.fillStyle = k === 0 ? "#ffffff" : colour;
      ctx.fill();
      ctx.lineWidth = 1.5 * px;
      ctx.strokeStyle = "#000";
      ctx.stroke();
    });
  }

  drawArrow(points, colour, px) {
    const [a, b] = [points[points.length - 2], points[points.length - 1]];
    const angle = Math.atan2(b[1] - a[1], b[0] - a[0]);
    const size = 12 * px;
    const { ctx } = this;
    ctx.beginPath();
    ctx.moveTo(b[0] + Math.cos(angle) * size * 0.2, b[1] + Math.sin(angle) * size * 0.2);
    ctx.lineTo(b[0] - Math.cos(angle - 0.45) * size, b[1] - Math.sin(angle - 0.45) * size);
    ctx.lineTo(b[0] - Math.cos(angle + 0.45) * size, b[1] - Math.sin(angle + 0.45) * size);
    ctx.closePath();
    ctx.fillStyle = colour;
    ctx.fill();
  }
}
