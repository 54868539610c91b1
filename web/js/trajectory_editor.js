// The edit canvas of IV_TrajectoryEditor: tracks and paint on one canvas over the reference image, with a frame
// slider, per-track radius / anchor, brush controls, one undo history and keyboard shortcuts. It writes only the
// node's `tracks` STRING and `paint` path (the layer is uploaded to the input folder), so workflow files and API
// prompts carry both, and typing into those widgets works with or without this file.
//
// Event-driven and the same in classic and Nodes 2.0 (Vue) rendering: the editor lives in a DOM widget and learns
// about changes from the frontend's events, never from LiteGraph's draw loop:
//   - its own widgets' callbacks (tracks, frames, paint) and onConfigure (a workflow load, a paste);
//   - onConnectionsChange (a reference image connected or removed, a Trajectory to Flow node connected);
//   - the `image` widget callback of the LoadImage feeding it (hooked when found, through resize nodes too), and the
//     frontend's `graphChanged` event (any edit of the graph: typing, another widget, a subgraph) as a catch-all;
//   - onExecuted, which the frontend resolves to this node also inside subgraphs (a run's reference preview).
// Each of these calls refresh(), which compares and does only what changed. The live motion preview (the frame
// under the slider warped along the tracks, and the slider's positions) comes from the pack's route, computed
// by the Python core; see motion_preview.js.

import { api } from "../../../scripts/api.js";
import { EDITORS, onWidgetChange, viewUrl, widget, widgetValue } from "./graph_access.js";
import { EditHistory } from "./edit_history.js";
import { buildControls, el, setPressed } from "./editor_controls.js";
import { installShortcuts } from "./editor_shortcuts.js";
import { LivePreview, livePreviewMethods } from "./motion_preview.js";
import { PaintSync } from "./paint_sync.js";
import { PaintTool } from "./paint_tool.js";
import { ReferenceImage, referenceImageMethods } from "./reference_image.js";
import { TrackCanvas } from "./trajectory_canvas.js";
import { EMPTY, parseTracks, serialize } from "./trajectory_model.js";

export const NODE = "IV_TrajectoryEditor";
export const CANVAS_HEIGHT = 320;
export const CONTROLS_HEIGHT = 96;
const LIVE_DELAY_MS = 60; // while a point moves: one request per pause, the stale one cancelled
const SLIDER_DELAY_MS = 25;

export class TrajectoryEditor {
  constructor(node) {
    this.node = node;
    this.tracksWidget = widget(node, "tracks");
    this.frameWidget = widget(node, "frames");
    this.lastText = null;
    this.imageUrl = null;
    this.imageFile = null; // {filename, subfolder, type} of the reference shown, for the preview route
    this.hookedSource = null;
    this.positions = null; // {text, frames, interpolation, positions: [track][frame] -> [x, y]} from the server
    this.shownPreview = null; // {key, seq, at}: the last warped frame drawn (the latency bench reads it)
    this.previewResult = null;
    this.history = new EditHistory();
    this.surface = new TrackCanvas(() => this.write());
    this.surface.onSelect = () => this.showSelection();
    this.surface.positionOf = (i) => this.positionOf(i);
    this.surface.onLive = () => this.requestPreview(LIVE_DELAY_MS);
    this.surface.onRendered = (backdrop) => this.rendered(backdrop);
    this.preview = new LivePreview({ api, onResult: (r) => this.previewArrived(r), onError: (e) => this.report(e) });
    // Which picture to draw on (reference_image.js): the LoadImage's file, the resize nodes' result, or a run's.
    this.reference = new ReferenceImage({ api, node, onArrived: () => this.refreshImage(), onError: (e) => this.report(e) });
    this.paint = new PaintTool(() => this.paintChanged());
    this.surface.paint = this.paint;
    this.sync = new PaintSync({
      api,
      widget: widget(node, "paint"),
      layer: this.paint.layer,
      viewUrl,
      usedElsewhere: (value) =>
        [...EDITORS].some((e) => e !== this && e.node.graph && widget(e.node, "paint")?.value === value),
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
    this.holder = holder;
    this.disposeShortcuts = null;
    for (const name of ["tracks", "frames", "paint"]) onWidgetChange(widget(node, name), () => this.refresh());
    this.onGraphChanged = () => this.refresh();
    this.attach();
    this.setMode("track");
    this.read();
  }

  // In a graph: listening (the node's onAdded); out of it: silent (onRemoved). Both idempotent.
  attach() {
    if (EDITORS.has(this)) return;
    EDITORS.add(this);
    this.disposeShortcuts = installShortcuts(this, this.holder);
    api.addEventListener("graphChanged", this.onGraphChanged);
  }

  dispose() {
    if (!EDITORS.has(this)) return;
    EDITORS.delete(this);
    this.disposeShortcuts?.();
    this.preview.dispose();
    api.removeEventListener("graphChanged", this.onGraphChanged);
  }

  // Everything the editor mirrors, brought up to date; cheap when nothing changed. Called by the events above.
  refresh() {
    if (!this.node.graph) return; // a clone configured before it is added: onAdded refreshes it
    this.read();
    this.syncFrames();
    this.refreshImage();
    void this.sync.sync(); // picks up a `paint` path set by a workflow load, the API or typing
    this.requestPreview(SLIDER_DELAY_MS);
  }

  // Kept for scripts and tests written against the polling editor: one refresh, not a loop.
  tick() {
    this.refresh();
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
    this.requestPreview(0);
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
    this.requestPreview(0); // a released drag: the frame now, not after a pause
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
    console.warn("InteractiveVideo:", error);
    this.controls.status.textContent = String(error.message ?? error);
  }

  // -- track controls -------------------------------------------------------------------------------------
  syncFrames() {
    // The clip length may come from an Int node linked to `frames` (one "Frames" node for the whole workflow).
    const count = Math.max(1, Number(widgetValue(this.node, "frames") ?? this.frameWidget?.value ?? 16));
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
    this.showPreview();
    this.requestPreview(SLIDER_DELAY_MS);
  }

  rendered(backdrop) {
    // What the last render showed: ready means the image is on the canvas, not merely loaded.
    this.drawn = backdrop?.complete && backdrop.naturalWidth ? backdrop : null;
    const r = this.previewResult;
    if (backdrop && r && backdrop === r.image && this.shownPreview?.seq !== r.seq) {
      this.shownPreview = { key: r.params.tracks, frame: r.params.frame, seq: r.seq, at: performance.now() };
    }
    this.markReady();
  }

  // data-ready on the editor's root: drawn at its size, with the picture it should show (if any) on the canvas and
  // no redraw pending. That picture is worked out afresh: a link, a resize or a run it has not caught up with yet
  // (or one the route is still making) means "not ready".
  markReady() {
    const expected = this.reference.target();
    const url = expected.file ? viewUrl(expected.file) : null;
    const shown = this.surface.image && this.drawn && !this.surface.dirty;
    const waiting = expected.pending || url !== this.imageUrl || (this.imageUrl && !shown);
    const ready = !waiting && this.surface.canvas.clientWidth > 100 ? "true" : "false";
    if (this.root.dataset.ready !== ready) this.root.dataset.ready = ready;
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

  resize(holder) {
    const ratio = window.devicePixelRatio || 1;
    const { canvas } = this.surface;
    const width = Math.max(1, Math.round(holder.clientWidth * ratio));
    const height = Math.max(1, Math.round(holder.clientHeight * ratio));
    if (canvas.width === width && canvas.height === height) return; // setting a size clears the canvas, even the same
    canvas.width = width;
    canvas.height = height;
    // Now, not on the next frame: the resize cleared the canvas, and a node growing (Nodes 2.0 lays its widgets
    // out over a few frames) would otherwise show it blank for a frame each step.
    this.surface.render();
  }

}

// The live motion preview's methods (previewParams, requestPreview, previewArrived, showPreview, positionOf) live
// with the route client in motion_preview.js; the reference picture's (setExecutedImage, refreshImage) in
// reference_image.js.
Object.assign(TrajectoryEditor.prototype, livePreviewMethods, referenceImageMethods);
