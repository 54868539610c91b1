// The live motion preview of the edit canvas: asks the pack's route (POST /interactivevideo/preview, see
// nodes/comfy_internals/preview.py) for the frame under the slider warped along the tracks, and for every track's
// place at every frame. Both come from the Python `core` (tracks_to_flow + warp, core.trajectory positions), so the
// canvas and the flow share one implementation and one interpolation; nothing here computes motion.
//
// Requests are debounced while the user drags and a newer one aborts the one in flight, so a reply always belongs
// to the latest edit that was asked for.

import { flowSettings } from "./graph_access.js";
import { serialize } from "./trajectory_model.js";

const ROUTE = "/interactivevideo/preview";
const PREVIEW_MAX_SIZE = 768; // longest side of the warped frame the route returns

export class LivePreview {
  // onResult({key, params, positions, image}): image is a decoded HTMLImageElement, or null without a reference.
  constructor({ api, onResult, onError }) {
    Object.assign(this, { api, onResult, onError });
    this.timer = null;
    this.controller = null;
    this.pendingKey = null;
    this.doneKey = null; // the last request answered: asking again would only repeat it
    this.seq = 0;
  }

  // params: {tracks, frames, frame, interpolation, falloff, radius, image?, max_size}; delay in ms (0: now).
  request(params, delay = 0) {
    const key = JSON.stringify(params);
    if (key === this.pendingKey || (key === this.doneKey && !this.timer)) return;
    clearTimeout(this.timer);
    this.timer = null;
    if (delay > 0) this.timer = setTimeout(() => this.send(params, key), delay);
    else this.send(params, key);
  }

  async send(params, key) {
    this.timer = null;
    this.controller?.abort(); // a stale request: its reply would be overwritten anyway
    const controller = new AbortController();
    this.controller = controller;
    this.pendingKey = key;
    const seq = ++this.seq;
    try {
      const response = await this.api.fetchApi(ROUTE, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(params),
        signal: controller.signal,
      });
      const reply = await response.json();
      if (!response.ok) throw new Error(reply?.error ?? `${ROUTE}: HTTP ${response.status}`);
      const image = reply.image ? await decode(reply.image) : null;
      if (controller.signal.aborted) return;
      this.doneKey = key;
      this.onResult({ key, seq, params, positions: reply.positions, image });
    } catch (e) {
      if (e?.name !== "AbortError" && !controller.signal.aborted) this.onError(e);
    } finally {
      if (this.controller === controller) {
        this.controller = null;
        this.pendingKey = null;
      }
    }
  }

  dispose() {
    clearTimeout(this.timer);
    this.controller?.abort();
  }
}

async function decode(src) {
  const image = new Image();
  image.src = src;
  await image.decode();
  return image;
}

// The edit canvas's side of the live preview, installed on TrajectoryEditor's prototype (trajectory_editor.js):
// what to ask for, what arrived, and which warped frame and track positions the canvas shows.
export const livePreviewMethods = {
  previewParams() {
    const settings = flowSettings(this.node);
    const params = {
      tracks: serialize(this.surface.model),
      frames: this.surface.frameCount,
      frame: this.surface.frame,
      ...settings,
      max_size: PREVIEW_MAX_SIZE,
    };
    if (this.imageFile) params.image = this.imageFile;
    return params;
  },

  requestPreview(delay) {
    if (!this.surface.model.tracks.length) {
      this.positions = null;
      this.previewResult = null;
      this.showPreview();
      return;
    }
    this.preview.request(this.previewParams(), delay);
  },

  previewArrived(result) {
    const { params } = result;
    this.positions = { text: params.tracks, frames: params.frames, interpolation: params.interpolation, positions: result.positions };
    this.previewResult = result;
    this.showPreview();
  },

  // The warped frame of the slider's frame, when the last reply is for it and for the image shown.
  showPreview() {
    const r = this.previewResult;
    const same = r?.image && r.params.frame === this.surface.frame && r.params.image?.filename === this.imageFile?.filename;
    this.surface.preview = this.surface.frame > 0 && same ? r.image : null;
    this.surface.draw();
  },

  positionOf(i) {
    const p = this.positions;
    if (!p || p.frames !== this.surface.frameCount || !p.positions[i]) return null;
    return p.positions[i][this.surface.frame] ?? null;
  },
};
