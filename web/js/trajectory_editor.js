// The edit canvas of IV_TrajectoryEditor: tracks and paint on one canvas over the reference image, with a frame
// slider, per-track radius / anchor, brush controls, one undo history and keyboard shortcuts. It writes only the
// node's `tracks` STRING and `paint` path (the layer is uploaded to the input folder), so workflow files and API
// prompts carry both, and typing into those widgets works with or without this file.

import { app } from "../../../scripts/app.js";
import { api } from "../../../scripts/api.js";
import { EditHistory } from "./edit_history.js";
import { buildControls, el, setPressed } from "./editor_controls.js";
import { installShortcuts } from "./editor_shortcuts.js";
import { PaintSync } from "./paint_sync.js";
import { PaintTool } from "./paint_tool.js";
import { TrackCanvas } from "./trajectory_canvas.js";
import { EMPTY, parseTracks, serialize } from "./trajectory_model.js";

const NODE = "IV_TrajectoryEditor";
const CANVAS_HEIGHT = 320;
const CONTROLS_HEIGHT = 96;

function widget(node, name) {
  return node.widgets?.find((w) => w.name === name);
}

function viewUrl({ filename, subfolder = "", type = "input" }) {
  const q = new URLSearchParams({ filename, subfolder, type });
  return api.apiURL(`/view?${q}`);
}

// The image a connected LoadImage node shows, before any run.
function upstreamImageUrl(node) {
  const slot = node.inputs?.findIndex((i) => i.name === "reference");
  if (slot === undefined || slot < 0 || node.inputs[slot].link == null) return null;
  const source = node.getInputNode?.(slot);
  const value = source && widget(source, "image")?.value;
  if (typeof value !== "string" || !value) return null;
  const clean = value.replace(/ \[(input|output|temp)\]$/, "");
  const cut = clean.lastIndexOf("/");
  return viewUrl({ filename: clean.slice(cut + 1), subfolder: cut < 0 ? "" : clean.slice(0, cut) });
}

class TrajectoryEditor {
  constructor(node) {
    this.node = node;
    this.tracksWidget = widget(node, "tracks");
    this.frameWidget = widget(node, "frames");
    this.lastText = null;
    this.imageUrl = null;
    this.executedUrl = null;
    this.history = new EditHistory();
    this.surface = new TrackCanvas(() => this.write());
    this.surface.onSelect = () => this.showSelection();
    this.paint = new PaintTool(() => this.paintChanged());
    this.surface.paint = this.paint;
    this.sync = new PaintSync({
      api,
      widget: widget(node, "paint"),
      layer: this.paint.layer,
      viewUrl,
      usedElsewhere: (value) =>
        (node.graph?._nodes ?? []).some((n) => n !== node && n.type === NODE && widget(n, "paint")?.value === value),
      onLoaded: () => this.paintLoaded(),
      onSaved: () => (this.showSelection(), node.setDirtyCanvas?.(true, true)),
      onError: (e) => this.report(e),
    });
    this.controls = buildControls(this);
    this.root = el("div", { className: "iv-trajectory-editor" }, { display: "flex", flexDirection: "column", width: "100%", height: "100%" });
    const holder = el("div", {}, { flex: "1", minHeight: "120px", position: "relative" });
    holder.append(this.surface.canvas);
    this.root.append(holder, this.controls.bar);
    new ResizeObserver(() => this.resize(holder)).observe(holder);
    this.disposeShortcuts = installShortcuts(this, holder);
    this.setMode("track");
    this.read();
  }

  dispose() {
    this.disposeShortcuts();
  }

  // -- the tracks widget is the source of truth ---------------------------------------------------------
  read() {
    const text = this.tracksWidget?.value ?? "";
    if (text === this.lastText) return;
    this.lastText = text;
    const { model, error } = parseTracks(text);
    if (error) {
      this.controls.status.textContent = `Cannot show these tracks: ${error}`;
      return;
    }
    this.surface.model = model;
    if (this.surface.selected >= model.tracks.length) this.surface.select(-1, -1);
    this.showSelection();
    this.surface.draw();
  }

  write() {
    const text = serialize(this.surface.model);
    if (text !== this.lastText) this.history.push({ kind: "tracks", text: this.lastText ?? "" });
    this.setTracksText(text);
  }

  setTracksText(text) {
    this.lastText = text;
    if (this.tracksWidget) {
      this.tracksWidget.value = text;
      this.tracksWidget.callback?.(text);
    }
    this.showSelection();
    this.node.setDirtyCanvas?.(true, true);
  }

  // -- one history for tracks and paint ------------------------------------------------------------------
  undo() {
    if (this.history.undo((entry, dir) => this.step(entry, dir))) this.afterStep();
  }

  redo() {
    if (this.history.redo((entry, dir) => this.step(entry, dir))) this.afterStep();
  }

  step(entry, direction) {
    if (entry.kind === "paint") {
      if (direction === "undo") this.paint.layer.undo();
      else this.paint.layer.redo();
      this.sync.schedule();
      return entry;
    }
    const current = this.lastText ?? "";
    const { model } = parseTracks(entry.text);
    if (model) this.surface.model = model;
    this.surface.select(-1, -1);
    this.setTracksText(entry.text);
    return { kind: "tracks", text: current };
  }

  afterStep() {
    this.surface.draw();
    this.showSelection();
  }

  // -- modes -------------------------------------------------------------------------------
  setMode(mode) {
    this.surface.mode = mode;
    const { trackMode, paintMode, row, paint } = this.controls;
    setPressed(trackMode, mode === "track");
    setPressed(paintMode, mode === "paint");
    row.style.display = mode === "track" ? "flex" : "none";
    paint.row.style.display = mode === "paint" ? "flex" : "none";
    this.surface.canvas.style.cursor = mode === "paint" ? "none" : "crosshair";
    this.showBrush();
    this.showSelection();
    this.surface.draw();
  }

  // -- paint ----------------------------------------------------------------------------------------------
  setBrush(change) {
    if (change.size !== undefined) this.paint.setSize(change.size);
    const { size, ...rest } = change;
    Object.assign(this.paint.brush, rest);
    this.showBrush();
    this.surface.draw();
  }

  showBrush() {
    const { color, size, sizeLabel, opacity, brushButton, eraser } = this.controls.paint;
    const brush = this.paint.brush;
    color.value = brush.color;
    size.value = String(brush.size);
    sizeLabel.textContent = `${brush.size}px`;
    opacity.value = String(Math.round(brush.opacity * 100));
    setPressed(brushButton, !brush.erase);
    setPressed(eraser, brush.erase);
  }

  paintChanged() {
    this.history.push({ kind: "paint" });
    this.sync.schedule();
    this.showSelection();
  }

  clearPaint() {
    if (this.paint.layer.clear()) this.paintChanged();
    this.surface.draw();
  }

  paintLoaded() {
    this.history.reset(); // another workflow's strokes: the old steps no longer apply
    this.fitLayer();
    this.surface.draw();
    this.showSelection();
  }

  // The layer has the reference image's size, so a brush size is in image pixels and Python composites 1:1.
  fitLayer() {
    const image = this.surface.image;
    if (image?.naturalWidth) this.paint.layer.resize(image.naturalWidth, image.naturalHeight);
  }

  report(error) {
    console.warn("InteractiveVideo paint:", error);
    this.controls.status.textContent = String(error.message ?? error);
  }

  // -- track controls -------------------------------------------------------------------------------------
  syncFrames() {
    const count = Math.max(1, Number(this.frameWidget?.value ?? 16));
    if (count === this.surface.frameCount) return;
    this.surface.frameCount = count;
    this.controls.slider.max = String(count - 1);
    if (this.surface.frame > count - 1) this.setFrame(count - 1);
    this.surface.draw();
  }

  setFrame(frame) {
    this.surface.frame = frame;
    this.controls.slider.value = String(frame);
    this.controls.frameLabel.textContent = `frame ${frame}`;
    this.surface.draw();
  }

  selectedTrack() {
    return this.surface.model.tracks[this.surface.selected];
  }

  setRadius(value) {
    const track = this.selectedTrack();
    if (track && value > 0) {
      track.radius = value;
      this.surface.commit();
    }
  }

  setAnchor(on) {
    const track = this.selectedTrack();
    if (track) {
      track.anchor = on;
      this.surface.commit();
    }
  }

  deleteSelected() {
    if (this.surface.selected < 0) return;
    this.surface.model.tracks.splice(this.surface.selected, 1);
    this.surface.select(-1, -1);
    this.surface.commit();
  }

  clearTracks() {
    this.surface.model = { ...EMPTY, tracks: [] };
    this.surface.select(-1, -1);
    this.surface.commit();
  }

  showSelection() {
    const track = this.selectedTrack();
    const { radius, anchor, status, undo, redo } = this.controls;
    undo.disabled = !this.history.canUndo;
    redo.disabled = !this.history.canRedo;
    radius.disabled = anchor.disabled = !track;
    radius.value = track ? String(track.radius ?? "") : "";
    anchor.checked = !!track?.anchor;
    const n = this.surface.model.tracks.length;
    if (this.surface.mode === "paint") {
      const where = this.sync.value ? `stored as input/${this.sync.value}` : "nothing painted yet";
      status.textContent = `paint — ${where}; B brush, E eraser, [ ] size, Ctrl+Z undo, T tracks`;
    } else {
      status.textContent = track
        ? `track ${this.surface.selected}: ${track.points.length} point(s)${track.anchor ? ", anchor" : ""} — shift-click adds a point, right-click removes one`
        : `${n} track(s) — drag on the image to draw a track, click to pin an anchor; P or B to paint`;
    }
  }

  // -- reference image: a run's preview, else the connected LoadImage -----------------------------
  setExecutedImage(images) {
    const first = images?.[0];
    if (first) this.executedUrl = viewUrl(first);
    this.refreshImage();
  }

  refreshImage() {
    const url = this.executedUrl || upstreamImageUrl(this.node);
    if (url === this.imageUrl) return;
    this.imageUrl = url;
    if (!url) {
      this.surface.image = null;
      this.surface.draw();
      return;
    }
    const image = new Image();
    image.onload = () => {
      if (this.imageUrl === url) {
        this.surface.image = image;
        this.fitLayer();
        this.surface.draw();
      }
    };
    image.src = url;
  }

  resize(holder) {
    const ratio = window.devicePixelRatio || 1;
    this.surface.canvas.width = Math.max(1, Math.round(holder.clientWidth * ratio));
    this.surface.canvas.height = Math.max(1, Math.round(holder.clientHeight * ratio));
    this.surface.draw();
  }

  tick() {
    this.read();
    this.syncFrames();
    this.refreshImage();
    void this.sync.sync(); // picks up a `paint` path set by a workflow load, the API or typing
  }
}

app.registerExtension({
  name: "InteractiveVideo.TrajectoryEditor",
  async beforeRegisterNodeDef(nodeType, nodeData) {
    if (nodeData.name !== NODE) return;
    const created = nodeType.prototype.onNodeCreated;
    nodeType.prototype.onNodeCreated = function () {
      const result = created?.apply(this, arguments);
      const editor = new TrajectoryEditor(this);
      this.trajectoryEditor = editor;
      this.addDOMWidget("track_editor", "iv_track_editor", editor.root, {
        serialize: false,
        hideOnZoom: false,
        getValue: () => editor.lastText,
        setValue: () => editor.read(),
        getMinHeight: () => CANVAS_HEIGHT + CONTROLS_HEIGHT,
      });
      // A prompt queued right after a stroke waits for that stroke's upload.
      const paint = widget(this, "paint");
      if (paint) paint.serializeValue = async () => (await editor.sync.flush(), paint.value);
      const [w, h] = this.size;
      this.setSize([Math.max(w, 460), Math.max(h, CANVAS_HEIGHT + CONTROLS_HEIGHT + 190)]);
      return result;
    };
    const removed = nodeType.prototype.onRemoved;
    nodeType.prototype.onRemoved = function () {
      this.trajectoryEditor?.dispose();
      return removed?.apply(this, arguments);
    };
    const executed = nodeType.prototype.onExecuted;
    nodeType.prototype.onExecuted = function (message) {
      const result = executed?.apply(this, arguments);
      this.trajectoryEditor?.setExecutedImage(message?.images);
      // The editor draws the reference itself; the stock preview under the node would show it twice.
      this.imgs = undefined;
      return result;
    };
    const drawn = nodeType.prototype.onDrawForeground;
    nodeType.prototype.onDrawForeground = function () {
      const result = drawn?.apply(this, arguments);
      this.trajectoryEditor?.tick(); // picks up typed JSON and paths, the frame count, a newly connected image
      return result;
    };
    const configured = nodeType.prototype.onConfigure;
    nodeType.prototype.onConfigure = function () {
      const result = configured?.apply(this, arguments);
      this.trajectoryEditor?.tick();
      return result;
    };
  },
});
