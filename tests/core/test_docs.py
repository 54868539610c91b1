"""The README and docs/ stay true to the repository: their links and pictures exist, every picture of a shipped
workflow carries that workflow as it ships (so dropped on ComfyUI it opens what the docs describe) at 80 % zoom or
more, and the README names every model file the workflows load. Each check has a control: the same function
reports a broken link, another workflow's picture, or a file the README does not name.
"""

import json
import re
from pathlib import Path

import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
DOCS = sorted((REPO / "docs").glob("*.md"))
PAGES = [REPO / "README.md", *DOCS]
WORKFLOWS = sorted((REPO / "workflows").glob("*.json"))
PICTURES = REPO / "docs" / "images" / "workflows"
MIN_ZOOM = 0.8
# Widgets of the loaders in the shipped workflows that name a model file.
MODEL_WIDGETS = {"ckpt_name", "motion_module", "unet_name", "clip_name", "vae_name"}


def slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def broken_links(page: Path) -> list[str]:
    """Relative links and images of ``page`` whose file, or heading in a Markdown file, does not exist."""
    text = page.read_text()
    problems = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue  # https:, mailto:
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            problems.append(f"{page.name}: {target} (no such file)")
        elif anchor and file.suffix == ".md":
            headings = {slug(h) for h in re.findall(r"^#+ (.+)$", file.read_text(), re.M)}
            if anchor not in headings:
                problems.append(f"{page.name}: {target} (no such heading)")
    return problems


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_links_and_pictures_exist(page):
    assert broken_links(page) == []


def test_control_a_broken_link_is_reported(tmp_path):
    (tmp_path / "a.md").write_text("# Here\n\n[ok](#here) [gone](missing.md) [bad anchor](a.md#nowhere)\n")
    assert broken_links(tmp_path / "a.md") == [
        "a.md: missing.md (no such file)",
        "a.md: a.md#nowhere (no such heading)",
    ]


def test_the_docs_index_links_every_page():
    index = (REPO / "docs" / "README.md").read_text()
    assert [p.name for p in DOCS if p.name != "README.md" and f"]({p.name})" not in index] == []


def picture_problems(picture: Path, workflow: Path, group: int) -> list[str]:
    """Why ``picture`` is not group ``group`` of ``workflow`` as shipped, readable and loadable (empty: it is)."""
    with Image.open(picture) as img:
        text, size = dict(img.text), img.size
    shipped = json.loads(workflow.read_text())
    api = json.loads((workflow.parent / "api" / workflow.name).read_text())
    problems = []
    if json.loads(text.get("workflow", "null")) != shipped:
        problems.append(f"{picture.name}: its embedded workflow is not {workflow.name}")
    if json.loads(text.get("prompt", "null")) != api:
        problems.append(f"{picture.name}: its embedded prompt is not api/{workflow.name}")
    _, _, w, h = shipped["groups"][group - 1]["bounding"]
    if size[0] < MIN_ZOOM * w or size[1] < MIN_ZOOM * h:
        problems.append(f"{picture.name}: {size} for a {w:.0f}×{h:.0f} group, under {MIN_ZOOM:.0%} zoom")
    return problems


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.stem)
def test_each_group_has_a_picture_that_carries_the_workflow(workflow):
    groups = json.loads(workflow.read_text())["groups"]
    shown = (REPO / "docs" / "workflows.md").read_text()
    for k in range(1, len(groups) + 1):
        picture = PICTURES / f"{workflow.stem}-{k}.png"
        assert picture.is_file(), f"no picture of group {k} of {workflow.name}: run scripts/build_workflows.py"
        assert picture_problems(picture, workflow, k) == []
        assert f"images/workflows/{picture.name}" in shown
    assert not (PICTURES / f"{workflow.stem}-{len(groups) + 1}.png").exists(), "a picture of a group that is gone"


def test_control_another_workflows_picture_is_rejected():
    a, b = WORKFLOWS[0], WORKFLOWS[1]
    problems = picture_problems(PICTURES / f"{b.stem}-1.png", a, 1)
    assert any("embedded workflow" in p for p in problems) and any("embedded prompt" in p for p in problems)


def test_the_pictures_the_browser_tests_make_are_shown():
    """The edit canvas's pictures (tests/e2e/browser/test_trajectory_editor.py writes them) are in the docs."""
    shown = "".join(p.read_text() for p in PAGES)
    for name in ("edit-canvas.png", "live-preview.png", "trajectory-editor.png"):
        assert f"images/{name}" in shown and (REPO / "docs" / "images" / name).is_file(), name


def model_files(workflow: Path) -> set[str]:
    nodes = json.loads((workflow.parent / "api" / workflow.name).read_text()).values()
    return {v for n in nodes for k, v in n["inputs"].items() if k in MODEL_WIDGETS and isinstance(v, str)}


def unnamed(files: set[str], text: str) -> set[str]:
    return {f for f in files if f"`{f}`" not in text}


def test_the_readme_names_every_model_file_the_workflows_load():
    readme = (REPO / "README.md").read_text()
    files = set().union(*(model_files(w) for w in WORKFLOWS))
    assert len(files) >= 7
    assert unnamed(files, readme) == set()
    assert unnamed({"wan2.2_made_up_14B.safetensors"}, readme) == {"wan2.2_made_up_14B.safetensors"}  # control


def unquoted_messages(readme: str, sources: str) -> list[str]:
    """The error messages the README's troubleshooting quotes (bold, in quotes) that no node says."""
    section = readme.split("## Troubleshooting", 1)[1].split("\n## ", 1)[0]
    quoted = [q.strip("… ").strip() for q in re.findall(r'\*\*"([^"]+)"\*\*', section)]
    return [q for q in quoted if q not in sources]


def test_troubleshooting_quotes_messages_the_nodes_give():
    sources = " ".join(" ".join(p.read_text().split()) for p in (REPO / "nodes").rglob("*.py"))
    readme = (REPO / "README.md").read_text()
    assert len(re.findall(r'\*\*"([^"]+)"\*\*', readme)) >= 2
    assert unquoted_messages(readme, sources) == []
    assert unquoted_messages('## Troubleshooting\n**"IV_PaintEncode: all is well"**\n', sources)  # control


# Node types that are outputs in ComfyUI (nothing needs to use what they give); every other node must feed one.
OUTPUT_TYPES = {"SaveImage", "PreviewImage", "SaveAnimatedWEBP", "SaveVideo"}
NOTE_TYPES = {"MarkdownNote", "Note"}
MOTION_MODULES = {"pia.ckpt", "v3_sd15_mm.ckpt", "mm_sd_v15_v2.ckpt"}
MODEL_FILE = re.compile(r"[\w.-]+\.(?:ckpt|safetensors|pt|pth)\b")


def workflow_problems(workflow: dict) -> list[str]:
    """What a user opening ``workflow`` would trip on: not exactly one note; a node whose output nothing uses; a
    model file loaded that the note does not name; a motion module named that the workflow cannot use (PIA's
    conditioning takes only pia.ckpt; the others take AnimateDiff's, not PIA's)."""
    nodes = workflow["nodes"]
    notes = [n for n in nodes if n["type"] in NOTE_TYPES]
    if len(notes) != 1:
        return [f"{len(notes)} notes"]
    problems = [
        f"{n['type']} (#{n['id']}): its output goes nowhere"
        for n in nodes
        if n["type"] not in NOTE_TYPES | OUTPUT_TYPES and not any(o.get("links") for o in n.get("outputs") or [])
    ]
    named = set(MODEL_FILE.findall(notes[0]["widgets_values"][0]))
    loaded = {v for n in nodes for v in n.get("widgets_values") or [] if isinstance(v, str) and MODEL_FILE.fullmatch(v)}
    problems += [f"{f} is loaded but the note does not name it" for f in sorted(loaded - named)]
    modules = named & MOTION_MODULES
    pia = any(n["type"] == "IV_PIAConditioning" for n in nodes)
    wrong = modules - {"pia.ckpt"} if pia else modules & {"pia.ckpt"}
    problems += [f"the note offers {f}, which this workflow cannot use" for f in sorted(wrong)]
    return problems


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.stem)
def test_each_workflow_has_its_own_note_and_no_dead_nodes(workflow):
    assert workflow_problems(json.loads(workflow.read_text())) == []


def test_control_a_dead_node_and_another_workflows_note_are_reported():
    pia = json.loads((REPO / "workflows" / "interactivevideo_animate_image.json").read_text())
    other = json.loads((REPO / "workflows" / "interactivevideo_paint_edit_clip.json").read_text())
    note = next(n for n in pia["nodes"] if n["type"] in NOTE_TYPES)
    note["widgets_values"] = next(n for n in other["nodes"] if n["type"] in NOTE_TYPES)["widgets_values"]
    pia["nodes"].append({"id": 999, "type": "CLIPTextEncode", "outputs": [{"name": "CONDITIONING", "links": []}]})
    problems = workflow_problems(pia)
    assert any("v3_sd15_mm.ckpt, which this workflow cannot use" in p for p in problems), problems
    assert any("pia.ckpt is loaded but the note does not name it" in p for p in problems), problems
    assert any("CLIPTextEncode (#999)" in p for p in problems), problems


def readme_wan_settings(text: str) -> dict:
    """The Wan quick start's numbers as the README states them."""
    m = re.search(
        r"(\d+) \+ (\d+) of (\d+) steps at shift (\d+), (\d+) × (\d+) .*?(\d+) frames.*? at (\d+) fps.*?`end_percent` is ([\d.]+)",
        text,
        re.S,
    )
    assert m, "the README's Wan quick start no longer states its settings in the form this test reads"
    high, low, steps, shift, width, height, frames, fps, end = m.groups()
    return {"split": int(high), "steps": int(steps), "low": int(low), "shift": float(shift), "width": int(width),
            "height": int(height), "frames": int(frames), "fps": int(fps), "end_percent": float(end)}  # fmt: skip


def wan_workflow_settings(prompt: dict) -> dict:
    """The same numbers as the shipped Wan workflow holds them (its API form)."""
    by_title = {n["_meta"]["title"]: n["inputs"] for n in prompt.values()}
    of_type = lambda t: [n["inputs"] for n in prompt.values() if n["class_type"] == t]  # noqa: E731
    high, low = by_title["Sample high noise"], by_title["Sample low noise"]
    (shift,) = {n["shift"] for n in of_type("ModelSamplingSD3")}
    (end,) = {n["end_percent"] for n in of_type("IV_ApplyInstructions")}
    (fps,) = {n["fps"] for n in of_type("CreateVideo")}
    return {"split": high["end_at_step"], "steps": high["steps"], "low": high["steps"] - low["start_at_step"],
            "shift": float(shift), "width": by_title["Width"]["value"], "height": by_title["Height"]["value"],
            "frames": by_title["Frames"]["value"], "fps": fps, "end_percent": float(end)}  # fmt: skip


def test_the_readme_states_the_wan_workflows_settings():
    prompt = json.loads((REPO / "workflows" / "api" / "interactivevideo_wan_drag_and_paint.json").read_text())
    readme = (REPO / "README.md").read_text()
    assert readme_wan_settings(readme) == wan_workflow_settings(prompt)
    # Control: the README as it read before the change of 0.8 to 0.6 does not match.
    assert readme_wan_settings(readme.replace("`end_percent` is 0.6", "`end_percent` is 0.8")) != wan_workflow_settings(
        prompt
    )
