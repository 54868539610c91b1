// How the edit canvas reads the graph around its node, with the frontend's public accessors only (no LiteGraph
// privates): widgets and their callbacks (or the Int node a widget's input is linked to), the node feeding an
// input, the image a LoadImage-like node shows, the Trajectory to Flow node downstream, and /view URLs.
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

export function typeOf(node) {
  return node?.comfyClass ?? node?.type;
}

// The node feeding input `name` (public accessors only), or null; Reroutes are passed through. Out of a graph (a
// clone being configured, a node being removed) there is none: newer frontends' link accessors throw there
// (NullGraphError) instead of answering.
export function inputSource(node, name) {
  for (let hops = 0; node?.graph && hops < 32; hops++) {
    const slot = name === null ? 0 : (node.inputs?.findIndex((i) => i.name === name) ?? -1);
    if (slot < 0 || node.inputs?.[slot]?.link == null) return null;
    const source = node.getInputNode?.(slot) ?? null;
    if (typeOf(source) !== "Reroute") return source;
    [node, name] = [source, null];
  }
  return null;
}

export function referenceSource(node) {
  return inputSource(node, "reference");
}

// Nodes whose only widget is the value they output (core Int/Float, the frontend's legacy Primitive).
const PRIMITIVES = new Set(["PrimitiveInt", "PrimitiveFloat", "PrimitiveNode"]);

// What a widget of `node` holds for the next run: its own value, or, where its input is linked, the value of the
// primitive feeding it (one "Frames" or "Width" node for the whole workflow); undefined when another node feeds it.
export function widgetValue(node, name) {
  const input = node.inputs?.find((i) => i.name === name);
  if (input?.link == null) return widget(node, name)?.value;
  const source = inputSource(node, name);
  if (!PRIMITIVES.has(typeOf(source))) return undefined;
  return (widget(source, "value") ?? source.widgets?.[0])?.value;
}

// Whether a combo widget's value is one of its listed choices (a LoadImage's files: those in the input folder and
// those uploaded since); true for a widget that lists none.
export function listed(w) {
  const values = typeof w?.options?.values === "function" ? w.options.values() : w?.options?.values;
  return Array.isArray(values) ? values.includes(w.value) : !!w;
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
