// Paint strokes as an RGBA layer of the reference image's size (straight alpha), with undo/redo.
// The layer, not a flattened picture, is what gets stored: the same strokes apply to whatever intermediate
// image a later run produces (core/paint.py composites it in Python).

const MAX_UNDO = 50;

export class PaintLayer {
  constructor(width = 512, height = 512) {
    this.canvas = document.createElement("canvas");
    this.stroke = document.createElement("canvas"); // the stroke in progress, composited on release
    this.undoStack = [];
    this.redoStack = [];
    this.current = null;
    this.resize(width, height);
  }

  get width() {
    return this.canvas.width;
  }

  get height() {
    return this.canvas.height;
  }

  // Keep what was painted, scaled to the new size (the reference image changed resolution).
  resize(width, height) {
    if (width === this.canvas.width && height === this.canvas.height) return;
    const old = this.canvas.width ? this.snapshot() : null;
    for (const c of [this.canvas, this.stroke]) {
      c.width = width;
      c.height = height;
    }
    if (old) this.canvas.getContext("2d").drawImage(old, 0, 0, width, height);
  }

  snapshot() {
    const copy = document.createElement("canvas");
    copy.width = this.canvas.width;
    copy.height = this.canvas.height;
    copy.getContext("2d").drawImage(this.canvas, 0, 0);
    return copy;
  }

  pushUndo() {
    this.undoStack.push(this.snapshot());
    if (this.undoStack.length > MAX_UNDO) this.undoStack.shift();
    this.redoStack = [];
  }

  restore(from, to) {
    if (!from.length) return false;
    to.push(this.snapshot());
    const ctx = this.canvas.getContext("2d");
    ctx.clearRect(0, 0, this.width, this.height);
    ctx.drawImage(from.pop(), 0, 0, this.width, this.height); // a snapshot from before a resize scales too
    return true;
  }

  undo() {
    return this.restore(this.undoStack, this.redoStack);
  }

  redo() {
    return this.restore(this.redoStack, this.undoStack);
  }

  // Returns whether anything was cleared (an undo step was recorded).
  clear() {
    if (this.isEmpty()) return false;
    this.pushUndo();
    this.canvas.getContext("2d").clearRect(0, 0, this.width, this.height);
    return true;
  }

  // Empty the layer and forget its history (another workflow's layer is about to be shown, or none).
  reset() {
    this.canvas.getContext("2d").clearRect(0, 0, this.width, this.height);
    this.undoStack = [];
    this.redoStack = [];
  }

  // brush: {color: "#rrggbb", size: px in layer pixels, opacity: 0..1, erase: bool}
  beginStroke(x, y, brush) {
    this.current = { brush, last: [x, y] };
    const ctx = this.stroke.getContext("2d");
    ctx.clearRect(0, 0, this.width, this.height);
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.strokeStyle = ctx.fillStyle = brush.erase ? "#000000" : brush.color;
    ctx.lineWidth = brush.size;
    ctx.beginPath();
    ctx.arc(x, y, brush.size / 2, 0, Math.PI * 2);
    ctx.fill();
  }

  extendStroke(x, y) {
    if (!this.current) return;
    const ctx = this.stroke.getContext("2d");
    ctx.beginPath();
    ctx.moveTo(...this.current.last);
    ctx.lineTo(x, y);
    ctx.stroke();
    this.current.last = [x, y];
  }

  // A stroke lands at its opacity once: overlapping segments of one stroke do not darken each other.
  endStroke() {
    if (!this.current) return;
    const { brush } = this.current;
    this.pushUndo();
    const ctx = this.canvas.getContext("2d");
    ctx.save();
    ctx.globalAlpha = brush.opacity;
    ctx.globalCompositeOperation = brush.erase ? "destination-out" : "source-over";
    ctx.drawImage(this.stroke, 0, 0);
    ctx.restore();
    this.stroke.getContext("2d").clearRect(0, 0, this.width, this.height);
    this.current = null;
  }

  // Draw the layer (and the stroke in progress) into a view canvas at the given rectangle.
  drawOnto(ctx, x, y, w, h) {
    ctx.drawImage(this.canvas, x, y, w, h);
    if (this.current) {
      ctx.save();
      ctx.globalAlpha = this.current.brush.opacity;
      if (this.current.brush.erase) ctx.globalAlpha *= 0.5; // a hint of what the eraser will remove
      ctx.drawImage(this.stroke, x, y, w, h);
      ctx.restore();
    }
  }

  isEmpty() {
    const data = this.canvas.getContext("2d").getImageData(0, 0, this.width, this.height).data;
    for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) return false;
    return true;
  }

  toBlob() {
    return new Promise((resolve) => this.canvas.toBlob(resolve, "image/png"));
  }

  async load(url) {
    const img = new Image();
    img.src = url;
    await img.decode();
    this.resize(img.naturalWidth, img.naturalHeight);
    const ctx = this.canvas.getContext("2d");
    ctx.clearRect(0, 0, this.width, this.height);
    ctx.drawImage(img, 0, 0);
    this.undoStack = [];
    this.redoStack = [];
  }
}

// Store the layer in ComfyUI's input folder (never inline in the workflow JSON) and return the widget value.
// The name is stable per node, so repeated edits overwrite the node's own file and nothing else.
export async function uploadPaintLayer(api, layer, name) {
  const body = new FormData();
  body.append("image", new File([await layer.toBlob()], name, { type: "image/png" }));
  body.append("type", "input");
  body.append("subfolder", "interactivevideo");
  body.append("overwrite", "true");
  const resp = await api.fetchApi("/upload/image", { method: "POST", body });
  if (resp.status !== 200) throw new Error(`paint layer upload failed: ${resp.status} ${resp.statusText}`);
  const saved = await resp.json();
  return saved.subfolder ? `${saved.subfolder}/${saved.name}` : saved.name;
}
