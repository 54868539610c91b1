// The toolbar under the edit canvas: the mode switch and undo/redo, then the controls of the current mode
// (tracks: frame slider, radius, anchor, delete, clear; paint: colour, size, opacity, eraser, clear).
// It builds DOM only and calls the editor's methods; class names are what the browser tests address.

import { SIZE_RANGE } from "./paint_tool.js";

export function el(tag, props = {}, style = {}) {
  const node = Object.assign(document.createElement(tag), props);
  Object.assign(node.style, style);
  return node;
}

function button(text, className, title, onClick) {
  const b = el("button", { textContent: text, className, title });
  b.addEventListener("click", onClick);
  return b;
}

const ROW = { display: "flex", flexWrap: "wrap", gap: "6px", alignItems: "center", width: "100%" };

function trackRow(editor) {
  const row = el("div", { className: "iv-track-row" }, ROW);
  const frameLabel = el("span", { textContent: "frame 0" }, { minWidth: "64px" });
  const slider = el("input", { type: "range", min: 0, max: 15, value: 0, className: "iv-track-frame" }, { flex: "1" });
  slider.addEventListener("input", () => editor.setFrame(Number(slider.value)));
  const radius = el("input", { type: "number", min: 1, step: 1, title: "Radius of the selected track's region (pixels)", className: "iv-track-radius" }, { width: "56px" });
  radius.addEventListener("change", () => editor.setRadius(Number(radius.value)));
  const anchor = el("input", { type: "checkbox", title: "Hold the selected track's region still", className: "iv-track-anchor" });
  anchor.addEventListener("change", () => editor.setAnchor(anchor.checked));
  row.append(
    frameLabel, slider, el("span", { textContent: "radius" }), radius, el("label", { textContent: "anchor" }), anchor,
    button("Delete track", "iv-track-delete", "Delete the selected track", () => editor.deleteSelected()),
    button("Clear", "iv-track-clear", "Delete every track", () => editor.clearTracks()),
  );
  return { row, frameLabel, slider, radius, anchor };
}

function paintRow(editor) {
  const row = el("div", { className: "iv-paint-row" }, { ...ROW, display: "none" });
  const brush = editor.paint.brush;
  const color = el("input", { type: "color", value: brush.color, className: "iv-paint-color", title: "Brush colour" }, { width: "32px", height: "22px", padding: "0" });
  color.addEventListener("input", () => editor.setBrush({ color: color.value, erase: false }));
  const [lo, hi] = SIZE_RANGE;
  const size = el("input", { type: "range", min: lo, max: hi, value: brush.size, className: "iv-paint-size", title: "Brush size in image pixels ([ and ])" }, { width: "80px" });
  size.addEventListener("input", () => editor.setBrush({ size: Number(size.value) }));
  const sizeLabel = el("span", { textContent: `${brush.size}px` }, { minWidth: "34px" });
  const opacity = el("input", { type: "range", min: 5, max: 100, value: brush.opacity * 100, className: "iv-paint-opacity", title: "Brush opacity" }, { width: "60px" });
  opacity.addEventListener("input", () => editor.setBrush({ opacity: Number(opacity.value) / 100 }));
  const brushButton = button("Brush", "iv-paint-brush", "Paint (B)", () => editor.setBrush({ erase: false }));
  const eraser = button("Eraser", "iv-paint-eraser", "Erase paint (E)", () => editor.setBrush({ erase: true }));
  row.append(
    color, brushButton, eraser, el("span", { textContent: "size" }), size, sizeLabel, el("span", { textContent: "opacity" }), opacity,
    button("Clear", "iv-paint-clear", "Erase all paint (undoable)", () => editor.clearPaint()),
  );
  return { row, color, size, sizeLabel, opacity, brushButton, eraser };
}

export function buildControls(editor) {
  const bar = el("div", { className: "iv-track-controls" }, {
    display: "flex", flexDirection: "column", gap: "4px", padding: "4px 2px",
    font: "12px sans-serif", color: "var(--input-text, #ddd)",
  });
  const top = el("div", {}, ROW);
  const trackMode = button("Tracks", "iv-mode-track", "Draw and edit tracks (T)", () => editor.setMode("track"));
  const paintMode = button("Paint", "iv-mode-paint", "Paint on the image (B brush, E eraser)", () => editor.setMode("paint"));
  const undo = button("Undo", "iv-undo", "Undo the last track edit or stroke (Ctrl+Z)", () => editor.undo());
  const redo = button("Redo", "iv-redo", "Redo (Ctrl+Shift+Z or Ctrl+Y)", () => editor.redo());
  top.append(trackMode, paintMode, el("span", {}, { flex: "1" }), undo, redo);
  const status = el("div", { className: "iv-track-status" }, { width: "100%", opacity: "0.75", whiteSpace: "nowrap", overflow: "hidden", textOverflow: "ellipsis" });
  const track = trackRow(editor);
  const paint = paintRow(editor);
  bar.append(top, track.row, paint.row, status);
  return { bar, status, trackMode, paintMode, undo, redo, ...track, paint };
}

// Pressed look for the active mode / tool.
export function setPressed(buttonEl, on) {
  buttonEl.style.outline = on ? "2px solid var(--p-primary-color, #4fc3f7)" : "none";
  buttonEl.setAttribute("aria-pressed", String(on));
}
