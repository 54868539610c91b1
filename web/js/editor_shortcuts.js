// Keyboard shortcuts of the edit canvas, live while the pointer is over it:
//   B brush, E eraser, P paint mode, T tracks mode, [ / ] brush size, Ctrl+Z undo, Ctrl+Shift+Z / Ctrl+Y redo,
//   Delete / Backspace remove the selected track point.
//
// ComfyUI's own undo (its ChangeTracker) listens on window before any extension can, and leaves keys alone while a
// text input has focus: while the pointer is over the canvas a read-only input holds the focus, so these keys
// reach this editor only and Ctrl+Z does not also undo a step of the graph.

import { el } from "./editor_controls.js";

function isTextEntry(target) {
  return target?.isContentEditable || target?.tagName === "TEXTAREA" ||
    (target?.tagName === "INPUT" && ["text", "number", "search"].includes(target.type));
}

function actionFor(editor, e) {
  const mod = e.ctrlKey || e.metaKey;
  const paintWith = (erase) => () => (editor.setMode("paint"), editor.setBrush({ erase }));
  const resize = (direction) => () => (editor.paint.stepSize(direction), editor.setBrush({}));
  const actions = mod
    ? { z: () => (e.shiftKey ? editor.redo() : editor.undo()), y: () => editor.redo() }
    : { b: paintWith(false), e: paintWith(true), p: () => editor.setMode("paint"), t: () => editor.setMode("track"), "[": resize(-1), "]": resize(1) };
  return actions[e.key.toLowerCase()];
}

// Returns a function that removes the listeners (the node was deleted).
export function installShortcuts(editor, holder) {
  const sink = el("input", { readOnly: true, tabIndex: -1, className: "iv-key-sink" }, {
    position: "absolute", left: "0", top: "0", width: "1px", height: "1px", opacity: "0", pointerEvents: "none",
  });
  sink.setAttribute("aria-hidden", "true");
  holder.append(sink);
  let hover = false;
  const canvas = editor.surface.canvas;
  const hold = () => sink.focus({ preventScroll: true });
  canvas.addEventListener("pointerenter", () => {
    hover = true;
    if (!isTextEntry(document.activeElement)) hold(); // never pull the focus out of a field being typed in
  });
  canvas.addEventListener("pointerdown", hold); // a click on the canvas would otherwise focus the canvas itself
  canvas.addEventListener("pointerleave", () => {
    hover = false;
    if (document.activeElement === sink) sink.blur();
  });
  const onKey = (e) => {
    if (!hover || (e.target !== sink && isTextEntry(e.target)) || e.altKey) return;
    if (e.key === "Delete" || e.key === "Backspace") return editor.surface.keyDown(e);
    const action = actionFor(editor, e);
    if (!action) return;
    e.preventDefault();
    e.stopImmediatePropagation();
    action();
  };
  window.addEventListener("keydown", onKey, true);
  return () => window.removeEventListener("keydown", onKey, true);
}
