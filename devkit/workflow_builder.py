"""Author workflows through the real ComfyUI frontend, so the saved files are exactly what the page itself writes.

A workflow is declared as data (nodes with a column, title and widget values; links by slot *name*; groups;
notes) and built in the page with LiteGraph, then saved twice: the UI workflow (``app.graph.serialize()``, what
users open and the template browser lists) and its API prompt (``app.graphToPrompt().output``, what headless
users post to ``/prompt`` and what the tests run).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class Node:
    key: str  # the spec's own handle for links and groups
    type: str
    title: str
    col: int  # columns are laid out left to right; nodes stack top to bottom within a column
    widgets: dict = field(default_factory=dict)
    width: int | None = None
    height: int | None = None  # at least this tall (image previews, notes)


@dataclass
class Group:
    title: str
    nodes: list[str]
    color: str = "#3f789e"


@dataclass
class Workflow:
    name: str
    nodes: list[Node]
    links: list[tuple[str, str | int, str, str]]  # (from key, output name or index, to key, input name)
    groups: list[Group] = field(default_factory=list)

    def as_spec(self) -> dict:
        return asdict(self)


BUILD_JS = r"""
async (spec) => {
  const MIN_W = 320, GAP = 50, TOP = 80, LEFT = 40;
  app.graph.clear();
  const byKey = {};
  for (const n of spec.nodes) {
    const node = LiteGraph.createNode(n.type);
    if (!node) throw new Error(`unknown node type ${n.type}`);
    node.title = n.title;
    app.graph.add(node);
    for (const [name, value] of Object.entries(n.widgets)) {
      const w = (node.widgets || []).find((w) => w.name === name);
      if (!w) throw new Error(`${n.type} has no widget '${name}' (has: ${(node.widgets || []).map((w) => w.name)})`);
      w.value = value;
    }
    const size = node.computeSize();
    node.size = [n.width ?? Math.max(size[0], MIN_W), Math.max(size[1], n.height ?? 0)];
    byKey[n.key] = node;
  }
  // Columns as wide as their widest node, left to right; nodes stacked top to bottom within a column.
  const cols = [...new Set(spec.nodes.map((n) => n.col))].sort((a, b) => a - b);
  const colX = {};
  let x = LEFT;
  for (const c of cols) {
    colX[c] = x;
    x += Math.max(...spec.nodes.filter((n) => n.col === c).map((n) => byKey[n.key].size[0])) + GAP;
  }
  const colY = {};
  for (const n of spec.nodes) {
    const node = byKey[n.key];
    const y = colY[n.col] ?? TOP;
    node.pos = [colX[n.col], y];
    colY[n.col] = y + node.size[1] + GAP + LiteGraph.NODE_TITLE_HEIGHT;
  }
  for (const [src, out, dst, inp] of spec.links) {
    const a = byKey[src], b = byKey[dst];
    if (!a || !b) throw new Error(`link ${src} -> ${dst}: unknown node key`);
    const o = typeof out === "number" ? out : a.findOutputSlot(out);
    const i = b.findInputSlot(inp);
    if (o < 0) throw new Error(`${a.type} has no output '${out}'`);
    if (i < 0) throw new Error(`${b.type} has no input '${inp}'`);
    a.connect(o, b, i);
  }
  for (const g of spec.groups) {
    const nodes = g.nodes.map((k) => byKey[k]);
    const pad = 12, head = LiteGraph.NODE_TITLE_HEIGHT;
    const x0 = Math.min(...nodes.map((n) => n.pos[0])) - pad;
    const y0 = Math.min(...nodes.map((n) => n.pos[1])) - head - pad - 34;
    const x1 = Math.max(...nodes.map((n) => n.pos[0] + n.size[0])) + pad;
    const y1 = Math.max(...nodes.map((n) => n.pos[1] + n.size[1])) + pad;
    const group = new LiteGraph.LGraphGroup(g.title);
    group.color = g.color;
    group.pos = [x0, y0];
    group.size = [x1 - x0, y1 - y0];
    app.graph.add(group);
  }
  app.graph.setDirtyCanvas(true, true);
  const prompt = await app.graphToPrompt();
  // Through JSON, as the page saves a workflow: properties left undefined are dropped, not sent as null.
  return JSON.parse(JSON.stringify({ workflow: prompt.workflow, api: prompt.output }));
}
"""


def build(comfy_page, workflow: Workflow) -> tuple[dict, dict]:
    """Build ``workflow`` in an open ComfyUI page; returns (UI workflow, API prompt)."""
    out = comfy_page.eval(BUILD_JS, workflow.as_spec())
    return out["workflow"], out["api"]
