// Registers the edit canvas on IV_TrajectoryEditor nodes (trajectory_editor.js holds the editor itself): the DOM
// widget, and the node events the editor listens to (added, removed, connections, executed, configured).
import { app } from "../../../scripts/app.js";
import { widget } from "./graph_access.js";
import { CANVAS_HEIGHT, CONTROLS_HEIGHT, NODE, TrajectoryEditor } from "./trajectory_editor.js";

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
      // The editor draws the reference itself; the frontend's image preview under the node would show it twice.
      this.hideOutputImages = true;
      return result;
    };
    const added = nodeType.prototype.onAdded;
    nodeType.prototype.onAdded = function () {
      const result = added?.apply(this, arguments);
      this.trajectoryEditor?.attach();
      queueMicrotask(() => this.trajectoryEditor?.refresh());
      return result;
    };
    const removed = nodeType.prototype.onRemoved;
    nodeType.prototype.onRemoved = function () {
      this.trajectoryEditor?.dispose();
      return removed?.apply(this, arguments);
    };
    const connections = nodeType.prototype.onConnectionsChange;
    nodeType.prototype.onConnectionsChange = function () {
      const result = connections?.apply(this, arguments);
      // After LiteGraph has finished linking: a reference image or a Trajectory to Flow node came or went.
      queueMicrotask(() => this.trajectoryEditor?.refresh());
      return result;
    };
    const executed = nodeType.prototype.onExecuted;
    nodeType.prototype.onExecuted = function (message) {
      const result = executed?.apply(this, arguments);
      this.trajectoryEditor?.setExecutedImage(message?.images);
      return result;
    };
    const configured = nodeType.prototype.onConfigure;
    nodeType.prototype.onConfigure = function () {
      const result = configured?.apply(this, arguments);
      this.trajectoryEditor?.refresh(); // a workflow load or paste: typed JSON, paths, the frame count
      return result;
    };
  },
});
