"""The served ComfyUI page knows the pack's nodes and can put them into a graph."""

from ivtest import comfy_env


def test_page_lists_the_pack_nodes_and_builds_a_prompt(comfy_page, artifacts):
    registered = comfy_page.eval("() => Object.keys(LiteGraph.registered_node_types).filter(k => k.startsWith('IV_'))")
    assert set(registered) == set(comfy_env.pack_node_ids())
    prompt = comfy_page.eval("""async () => {
        app.graph.clear();
        const load = LiteGraph.createNode('LoadImage'); load.pos = [60, 120]; app.graph.add(load);
        const info = LiteGraph.createNode('IV_ImageInfo'); info.pos = [420, 120]; app.graph.add(info);
        load.connect(0, info, 0);
        app.graph.setDirtyCanvas(true, true);
        return (await app.graphToPrompt()).output;
    }""")
    types = {v["class_type"] for v in prompt.values()}
    assert types == {"LoadImage", "IV_ImageInfo"}
    info = next(v for v in prompt.values() if v["class_type"] == "IV_ImageInfo")
    assert info["inputs"]["image"][1] == 0
    comfy_page.page.screenshot(path=str(artifacts / "foundation-page.png"))
    assert not comfy_page.pack_errors(), comfy_page.console_errors
