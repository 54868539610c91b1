// One undo history for the whole edit canvas: track edits and paint strokes interleave in the order they were
// made, so Ctrl+Z always takes back the last thing the user did, whichever mode it was made in.
//
// An entry is {kind: "tracks", text} (the tracks JSON before the edit) or {kind: "paint"} (the paint layer keeps
// its own pixel snapshots; the entry only records that the step was a paint step).

const LIMIT = 200;

export class EditHistory {
  constructor() {
    this.undoStack = [];
    this.redoStack = [];
  }

  push(entry) {
    this.undoStack.push(entry);
    if (this.undoStack.length > LIMIT) this.undoStack.shift();
    this.redoStack = [];
  }

  // apply(entry, direction) performs the step and returns the entry that reverses it.
  undo(apply) {
    return this.move(this.undoStack, this.redoStack, apply, "undo");
  }

  redo(apply) {
    return this.move(this.redoStack, this.undoStack, apply, "redo");
  }

  move(from, to, apply, direction) {
    const entry = from.pop();
    if (!entry) return false;
    to.push(apply(entry, direction));
    return true;
  }

  reset() {
    this.undoStack = [];
    this.redoStack = [];
  }

  get canUndo() {
    return this.undoStack.length > 0;
  }

  get canRedo() {
    return this.redoStack.length > 0;
  }
}
