// How the edit canvas reads the graph around its node, with the frontend's public accessors only (no LiteGraph
// privates): widgets and their callbacks, the node feeding `reference`, the image a LoadImage-like node shows, the
// Trajectory to Flow node downstream, and /view URLs.
import { api } from "../../../scripts/api.js";

export const FLOW_NODE = "IV_TrajectoryToFlow";

// Every live editor (of any graph, subgraphs included): who else holds a paint file, who shows which image.
export const EDITORS = new Set();

export function widget(node, name) {
  return node.widgets?.find((w) => w.name === name);
}

// Call `fn` after a widget's own callback, once per widget (the frontend calls it on every user edit).
const HOOKED = new WeakSet();
export function onWidgetChange(w, fn) {
  if (!w || HOOKED.has(w)) return;
  HOOKED.add(w);
  const original = w.callback;
  w.callback = function () {
    const result = original?.apply(this, arguments);
    fn();
    return result;
  };
}

export function splitAnnotated(value) {
  const type = value.match(/ \[(input|output|temp)\]$/)?.[1] ?? "input";
  const clean = value.replace(/ \[(input|output|temp)\]$/, "");
  const cut = clean.lastIndexOf("/");
  return { filename: clean.slice(cut + 1), subfolder: cut < 0 ? "" : clean.slice(0, cut), type };
}

export function viewUrl({ filename, subfolder = "", type = "input" }) {
  const q = new URLSearchParams({ filename, subfolder, type });
  return api.apiURL(`/view?${q}`);
}

// The node feeding `reference` (public accessors only), or null. Out of a graph (a clone being configured, a node
// being removed) there is none: newer frontends' link accessors throw there (NullGraphError) instead of answering.
export function referenceSource(node) {
  if (!node.graph) return null;
  const slot = node.inputs?.findIndex((i) => i.name === "reference") ?? -1;
  if (slot < 0) return null;
  return node.getInputNode?.(slot) ?? null;
}

// The file a connected LoadImage-like node (an `image` combo of file names) shows, before any run.
export function upstreamImage(source) {
  const value = source && widget(source, "image")?.value;
  if (typeof value !== "string" || !value) return null;
  return splitAnnotated(value);
}

// The settings of the Trajectory to Flow node this editor feeds: the preview moves regions as that node will.
export function flowSettings(node) {
  const downstream = (node.graph && node.getOutputNodes?.(0)) || [];
  const flow = downstream.find((n) => n?.type === FLOW_NODE || n?.comfyClass === FLOW_NODE);
  const value = (name, fallback) => widget(flow ?? {}, name)?.value ?? fallback;
  return { interpolation: value("interpolation", "smooth"), falloff: value("falloff", 1.0), radius: value("radius", 0) };
}
