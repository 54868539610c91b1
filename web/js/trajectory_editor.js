// The in-graph trajectory editor of IV_TrajectoryEditor: a canvas over the reference image with a frame slider
// and per-track radius / anchor controls. Its only output is the node's `tracks` STRING widget, so workflow
// files and API prompts carry the tracks, and typing JSON into that widget works with or without this file.

import { app } from "../../../scripts/app.js";
import { api } from "../../../scripts/api.js";
import { TrackCanvas } from "./trajectory_canvas.js";
import { EMPTY, parseTracks, serialize } from "./trajectory_model.js";

const NODE = "IV_TrajectoryEditor";
const CANVAS_HEIGHT = 320;
const CONTROLS_HEIGHT = 58;

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

function el(tag, props = {}, style = {}) {
  const node = Object.assign(document.createElement(tag), props);
  Object.assign(node.style, style);
  return node;
}

function buildControls(editor) {
  const bar = el("div", { className: "iv-track-controls" }, {
    display: "flex", flexWrap: "wrap", gap: "6px", alignItems: "center", padding: "4px 2px",
    font: "12px sans-serif", color: "var(--input-text, #ddd)",
  });
  const frameLabel = el("span", { textContent: "frame 0" }, { minWidth: "64px" });
  const slider = el("input", { type: "range", min: 0, max: 15, value: 0, className: "iv-track-frame" }, { flex: "1" });
  slider.addEventListener("input", () => editor.setFrame(Number(slider.value)));
  const radius = el("input", { type: "number", min: 1, step: 1, title: "Radius of the selected track's region (pixels)", className: "iv-track-radius" }, { width: "56px" });
  radius.addEventListener("change", () => editor.setRadius(Number(radius.value)));
  const anchor = el("input", { type: "checkbox", title: "Hold the selected track's region still", className: "iv-track-anchor" });
  anchor.addEventListener("change", () => editor.setAnchor(anchor.checked));
  const remove = el("button", { textContent: "Delete track", className: "iv-track-delete" });
  remove.addEventListener("click", () => editor.deleteSelected());
  const clear = el("button", { textContent: "Clear", className: "iv-track-clear" });
  clear.addEventListener("click", () => editor.clear());
  const status = el("div", { className: "iv-track-status" }, { width: "100%", opacity: "0.75", whiteSpace: "nowrap", overflow: "hidden", textOverflow: "ellipsis" });
  bar.append(frameLabel, slider, el("span", { textContent: "radius" }), radius, el("label", { textContent: "anchor" }), anchor, remove, clear, status);
  return { bar, frameLabel, slider, radius, anchor, status };
}

class TrajectoryEditor {
  constructor(node) {
    this.node = node;
    this.tracksWidget = widget(node, "tracks");
    this.frameWidget = widget(node, "frame_count");
    this.lastText = null;
    this.imageUrl = null;
    this.executedUrl = null;
    this.surface = new TrackCanvas(() => this.write());
    this.surface.onSelect = () => this.showSelection();
    this.controls = buildControls(this);
    this.root = el("div", { className: "iv-trajectory-editor" }, { display: "flex", flexDirection: "column", width: "100%", height: "100%" });
    const holder = el("div", {}, { flex: "1", minHeight: "120px", position: "relative" });
    holder.append(this.surface.canvas);
    this.root.append(holder, this.controls.bar);
    new ResizeObserver(() => this.resize(holder)).observe(holder);
    this.read();
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
    this.lastText = text;
    if (this.tracksWidget) {
      this.tracksWidget.value = text;
      this.tracksWidget.callback?.(text);
    }
    this.showSelection();
    this.node.setDirtyCanvas?.(true, true);
  }

  // -- controls ---------------------------------------------------------------------------------------
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

  clear() {
    this.surface.model = { ...EMPTY, tracks: [] };
    this.surface.select(-1, -1);
    this.surface.commit();
  }

  showSelection() {
    const track = this.selectedTrack();
    const { radius, anchor, status } = this.controls;
    radius.disabled = anchor.disabled = !track;
    radius.value = track ? String(track.radius ?? "") : "";
    anchor.checked = !!track?.anchor;
    const n = this.surface.model.tracks.length;
    status.textContent = track
      ? `track ${this.surface.selected}: ${track.points.length} point(s)${track.anchor ? ", anchor" : ""} — shift-click adds a point, right-click removes one`
      : `${n} track(s) — drag on the image to draw a track, click to pin an anchor`;
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
      const [w, h] = this.size;
      this.setSize([Math.max(w, 420), Math.max(h, CANVAS_HEIGHT + CONTROLS_HEIGHT + 160)]);
      return result;
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
      this.trajectoryEditor?.tick(); // picks up typed JSON, the frame count and a newly connected image
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
