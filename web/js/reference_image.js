// Which picture the edit canvas draws on. Tracks and paint are in the pixels of the image its `reference` input will
// receive, so the canvas shows that image, before any run where it can:
//   - a LoadImage-like node (an `image` combo of files) feeding `reference`: its file, at once;
//   - the same through resize nodes (Upscale Image and friends, Reroutes passed through): the pack's route
//     POST /interactivevideo/reference runs those nodes' own code on the file and answers with the result in the
//     temp folder (nodes/comfy_internals/reference.py), so size and crop are the run's;
//   - anything else (a generated image): nothing until the node runs; then the run's picture. A run's picture is
//     shown until the upstream it was made from changes (another file picked, a resize widget edited).

import {
  EDITORS,
  inputSource,
  listed,
  onWidgetChange,
  referenceSource,
  typeOf,
  upstreamImage,
  viewUrl,
  widget,
  widgetValue,
} from "./graph_access.js";

const ROUTE = "/interactivevideo/reference";
// The resize nodes followed upstream; the route runs the same list (TRANSFORMS in reference.py).
export const TRANSFORMS = ["ImageScale", "ImageScaleBy", "ImageScaleToTotalPixels"];
const FRONTEND_WIDGETS = new Set(["control_after_generate", "control_before_generate", "upload"]);
const MAX_CHAIN = 8;
const REMEMBERED = 16;

// {file, steps, origin} for the picture `reference` will receive, or null where it is made by the run itself.
// `file` is the source's /view address, `steps` the resize nodes between (nearest to the file first), `origin`
// the LoadImage-like node.
export function resolveReference(node) {
  const steps = [];
  let source = referenceSource(node);
  while (source && steps.length <= MAX_CHAIN) {
    const type = typeOf(source);
    if (!TRANSFORMS.includes(type)) {
      const file = upstreamImage(source);
      return file ? { file, steps, origin: source } : null;
    }
    const inputs = {};
    for (const w of source.widgets ?? []) {
      if (!w.name || FRONTEND_WIDGETS.has(w.name)) continue;
      const value = widgetValue(source, w.name);
      if (value === undefined) return null; // set by another node at run time
      inputs[w.name] = value;
    }
    steps.unshift({ node: type, inputs });
    source = inputSource(source, "image");
  }
  return null;
}

export class ReferenceImage {
  // onArrived(): a picture the route made for the current upstream has arrived; onError(error) for its refusals.
  constructor({ api, node, onArrived, onError }) {
    Object.assign(this, { api, node, onArrived, onError });
    this.executed = null; // {file, basis}: a run's picture and the upstream it was made from
    this.made = new Map(); // upstream key -> the route's file, or {error}
    this.asked = null;
    this.origin = null; // the LoadImage-like node found last
  }

  // {file, pending, missing, error, generated}: what to show now. `pending`: the route is making it; `missing`: the
  // Load Image's file is not in the input folder; `error`: the route refused it (why); `generated`: the upstream is
  // something the canvas cannot show before a run.
  target() {
    const found = resolveReference(this.node);
    this.origin = found?.origin ?? null;
    const basis = found ? JSON.stringify([found.file, found.steps]) : null;
    if (this.executed && this.executed.basis === basis) return { file: this.executed.file };
    if (!found) return { file: null, generated: !!referenceSource(this.node) };
    if (!found.steps.length) return { file: found.file };
    // A file its Load Image does not list is not in the input folder (a workflow from another machine): say so
    // rather than ask the route for it.
    if (!listed(widget(found.origin, "image"))) return { file: null, missing: found.file.filename };
    const made = this.made.get(basis);
    if (made?.filename) return { file: made };
    if (made?.error) return { file: null, error: made.error }; // the route's refusal, with its reason
    if (!made) this.ask(basis, found);
    return { file: null, pending: true };
  }

  setExecuted(file) {
    const found = resolveReference(this.node);
    this.executed = { file, basis: found ? JSON.stringify([found.file, found.steps]) : null };
  }

  async ask(basis, { file, steps }) {
    if (this.asked === basis) return;
    this.asked = basis;
    try {
      const response = await this.api.fetchApi(ROUTE, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ image: file, steps }),
      });
      const reply = await response.json();
      if (!response.ok) throw new Error(reply?.error ?? `${ROUTE}: HTTP ${response.status}`);
      this.remember(basis, reply.image);
    } catch (e) {
      this.remember(basis, { error: String(e.message ?? e) });
      this.onError(e);
    } finally {
      if (this.asked === basis) this.asked = null;
    }
    this.onArrived();
  }

  remember(basis, value) {
    this.made.set(basis, value);
    while (this.made.size > REMEMBERED) this.made.delete(this.made.keys().next().value);
  }
}

// What an empty canvas says: how to get a picture onto it.
const NO_IMAGE_HINT = "Connect a picture to 'reference' (Load Image → reference)";
const GENERATED_HINT = "No picture yet: select this node and press ▶ above it to make only the picture, then edit";

// The edit canvas's side (installed on TrajectoryEditor's prototype): a run's picture arrives, and the picture to
// show is brought up to date (its file loaded, the hint on an empty canvas, the LoadImage hooked).
export const referenceImageMethods = {
  setExecutedImage(images) {
    const first = images?.[0];
    if (first) this.reference.setExecuted({ filename: first.filename, subfolder: first.subfolder ?? "", type: first.type ?? "temp" });
    this.refreshImage();
  },

  refreshImage() {
    const target = this.reference.target();
    const source = this.reference.origin;
    if (source && source !== this.hookedSource) {
      // Picking another file in the LoadImage node (or uploading one) reaches us at once.
      this.hookedSource = source;
      onWidgetChange(widget(source, "image"), () => EDITORS.forEach((e) => e.refreshImage()));
    }
    const hint = target.pending
      ? "loading the picture…"
      : target.error
        ? `No picture before a run: ${target.error}`
        : target.missing
          ? `'${target.missing}' is not in ComfyUI's input folder: pick or upload a picture in the Load Image node`
          : target.generated
            ? GENERATED_HINT
            : NO_IMAGE_HINT;
    if (hint !== this.surface.emptyHint) {
      this.surface.emptyHint = hint;
      this.surface.draw();
    }
    const file = target.file;
    const url = file ? viewUrl(file) : null;
    if (url === this.imageUrl) return;
    this.imageUrl = url;
    this.imageFile = file;
    this.markReady();
    if (!url) {
      this.surface.image = null;
      this.showPreview();
      return;
    }
    const image = new Image();
    image.onload = () => {
      if (this.imageUrl === url) {
        this.surface.image = image;
        this.fitLayer();
        this.showPreview();
        this.requestPreview(0);
      }
    };
    image.src = url;
  },
};
