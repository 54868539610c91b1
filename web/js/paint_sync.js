// Keeps the paint layer and the node's `paint` widget in step. After a stroke (debounced) the layer is uploaded
// to ComfyUI's input folder as interactivevideo/iv-paint-<id>.png and the widget holds that path, so workflow
// files and API prompts carry a file name, never pixels. A workflow load sets the widget; the layer is then read
// back from /view. The node overwrites only files it named itself and no other node uses.

import { uploadPaintLayer } from "./paint_layer.js";

const SUBFOLDER = "interactivevideo";
const OWN = /^interactivevideo\/iv-paint-[0-9a-z]+\.png$/;
const DEBOUNCE_MS = 400;

function freshName() {
  const id = Array.from(crypto.getRandomValues(new Uint8Array(6)), (b) => b.toString(16).padStart(2, "0")).join("");
  return `iv-paint-${id}.png`;
}

export function splitInputPath(value) {
  const clean = value.replace(/ \[input\]$/, "");
  const cut = clean.lastIndexOf("/");
  return { filename: clean.slice(cut + 1), subfolder: cut < 0 ? "" : clean.slice(0, cut), type: "input" };
}

export class PaintSync {
  // usedElsewhere(value): whether another node in the graph holds this paint value (a pasted copy of this node).
  constructor({ api, widget, layer, viewUrl, usedElsewhere, onLoaded, onSaved, onError }) {
    Object.assign(this, { api, widget, layer, viewUrl, usedElsewhere, onLoaded, onSaved, onError });
    this.shown = null; // the widget value whose file the layer holds
    this.loading = null;
    this.timer = null;
    this.chain = Promise.resolve();
    this.name = null;
  }

  get value() {
    return this.widget?.value ?? "";
  }

  schedule() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.flush(), DEBOUNCE_MS);
  }

  // Upload now if a change is waiting; resolves once every upload so far has landed (the prompt waits on this).
  flush() {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
      this.chain = this.chain.then(() => this.upload()).catch((e) => this.onError(e));
    }
    return this.chain;
  }

  async upload() {
    if (this.layer.isEmpty()) return this.setValue(""); // nothing painted: the node passes the image through
    const value = await uploadPaintLayer(this.api, this.layer, this.ownName());
    this.setValue(value);
  }

  ownName() {
    const current = this.value;
    if (OWN.test(current) && !this.usedElsewhere(current)) return current.slice(SUBFOLDER.length + 1);
    if (!this.name || this.usedElsewhere(`${SUBFOLDER}/${this.name}`)) this.name = freshName();
    return this.name;
  }

  setValue(value) {
    this.shown = value;
    if (this.widget && this.widget.value !== value) {
      this.widget.value = value;
      this.widget.callback?.(value);
    }
    this.onSaved();
  }

  // Called on every redraw: picks up a value set by a workflow load, the API, or typing.
  async sync() {
    const value = this.value;
    if (value === this.shown || value === this.loading || this.timer !== null) return;
    this.loading = value;
    try {
      if (value) await this.layer.load(this.viewUrl(splitInputPath(value)));
      else this.layer.reset();
      this.onLoaded();
    } catch (e) {
      this.onError(new Error(`cannot load the paint layer ${value}: ${e.message ?? e}`));
    } finally {
      this.shown = value;
      this.loading = null;
    }
  }
}
