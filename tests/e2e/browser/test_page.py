"""The served ComfyUI page knows the pack's nodes and can put them into a graph."""

from comfyui_interactivevideo.devkit import comfy_env


def test_page_lists_the_pack_nodes_and_builds_a_prompt(comfy_page, artifacts):
    registered = comfy_page.eval("() => Object.keys(LiteGraph.registered_node_types).filter(k => k.startsWith('IV_'))")
    assert set(registered) == set(comfy_env.pack_node_ids())
    prompt = comfy_page.eval("""async () => {
        app.graph.clear();
        const add = (type, x) => { const n = LiteGraph.createNode(type); n.pos = [x, 140]; app.graph.add(n); return n; };
        const load = add('LoadImage', 40), editor = add('IV_TrajectoryEditor', 380);
        const flow = add('IV_TrajectoryToFlow', 900), preview = add('IV_MotionPreview', 1180);
        load.connect(0, editor, editor.inputs.findIndex(i => i.name === 'reference'));
        editor.connect(0, flow, 0);
        load.connect(0, preview, 0);
        flow.connect(0, preview, 1);
        app.graph.setDirtyCanvas(true, true);
        return (await app.graphToPrompt()).output;
    }""")
    by_type = {v["class_type"]: (k, v) for k, v in prompt.items()}
    assert set(by_type) == {"LoadImage", "IV_TrajectoryEditor", "IV_TrajectoryToFlow", "IV_MotionPreview"}
    load_id = by_type["LoadImage"][0]
    editor_id, editor = by_type["IV_TrajectoryEditor"]
    flow_id, flow = by_type["IV_TrajectoryToFlow"]
    preview = by_type["IV_MotionPreview"][1]
    assert editor["inputs"]["reference"] == [load_id, 0]
    assert editor["inputs"]["tracks"] == '{"version": 1, "tracks": []}' and editor["inputs"]["frames"] == 16
    assert flow["inputs"]["tracks"] == [editor_id, 0]
    assert preview["inputs"] == {"image": [load_id, 0], "flow": [flow_id, 0]}
    comfy_page.page.screenshot(path=str(artifacts / "foundation-page.png"))
    assert not comfy_page.pack_errors(), comfy_page.console_errors
