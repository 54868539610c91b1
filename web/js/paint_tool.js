// Paint mode of the edit canvas: brush gestures over the reference image and the brush cursor. Strokes land in a
// PaintLayer of the reference image's size, so a brush size is in image pixels whatever the zoom.
// Points arrive in track space (the canvas's w x h, which the image fills); the layer may have another size.

import { PaintLayer } from "./paint_layer.js";

export const SIZE_RANGE = [1, 256];

export class PaintTool {
  constructor(onStroke) {
    this.layer = new PaintLayer(512, 512);
    this.brush = { color: "#ff3b30", size: 24, opacity: 1, erase: false };
    this.cursor = null; // [x, y] in track space while the pointer is over the canvas
    this.painting = false;
    this.onStroke = onStroke;
  }

  toLayer([x, y], [w, h]) {
    return [(x * this.layer.width) / w, (y * this.layer.height) / h];
  }

  setSize(size) {
    const [lo, hi] = SIZE_RANGE;
    this.brush.size = Math.round(Math.min(hi, Math.max(lo, size)));
  }

  // [ and ] step the size by about 15%, at least one pixel, as in image editors.
  stepSize(direction) {
    const step = Math.max(1, Math.round(this.brush.size * 0.15));
    this.setSize(this.brush.size + direction * step);
  }

  pointerDown(p, space) {
    this.cursor = p;
    this.painting = true;
    this.layer.beginStroke(...this.toLayer(p, space), { ...this.brush });
  }

  pointerMove(p, space) {
    this.cursor = p;
    if (this.painting) this.layer.extendStroke(...this.toLayer(p, space));
  }

  pointerUp() {
    if (!this.painting) return;
    this.painting = false;
    this.layer.endStroke();
    this.onStroke();
  }

  drawLayer(ctx, w, h) {
    this.layer.drawOnto(ctx, 0, 0, w, h);
  }

  // A ring the size of the brush, light and dark so it shows on any picture; filled with the colour it paints.
  drawCursor(ctx, px, space) {
    if (!this.cursor) return;
    const [x, y] = this.cursor;
    const r = Math.max((this.brush.size / 2) * (space[0] / this.layer.width), px);
    ctx.beginPath();
    ctx.arc(x, y, r, 0, 2 * Math.PI);
    if (!this.brush.erase) {
      ctx.fillStyle = this.brush.color;
      ctx.globalAlpha = 0.25 * this.brush.opacity;
      ctx.fill();
      ctx.globalAlpha = 1;
    }
    ctx.setLineDash(this.brush.erase ? [4 * px, 3 * px] : []);
    ctx.lineWidth = 3 * px;
    ctx.strokeStyle = "rgba(0, 0, 0, 0.8)";
    ctx.stroke();
    ctx.lineWidth = 1.5 * px;
    ctx.strokeStyle = "#ffffff";
    ctx.stroke();
    ctx.setLineDash([]);
  }
}
