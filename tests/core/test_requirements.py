"""requirements.txt (what a user's ComfyUI installs for the pack) lists exactly what the runtime imports."""

import ast
import importlib.metadata
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RUNTIME = [REPO / "__init__.py", *sorted((REPO / "core").rglob("*.py")), *sorted((REPO / "nodes").rglob("*.py"))]
# Provided by the ComfyUI that loads the pack: its own modules, and the torch it runs on (never pinned by a pack).
FROM_COMFYUI = {
    "comfy",
    "comfy_api",
    "comfy_execution",
    "comfy_extras",
    "execution",
    "folder_paths",
    "latent_preview",
    "node_helpers",
    "nodes",
    "server",
    "torch",
}


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def runtime_modules() -> set[str]:
    """Top-level modules the runtime imports from outside the pack (anywhere in a file, lazy imports too)."""
    found = set()
    for path in RUNTIME:
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                found |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return found - set(sys.stdlib_module_names) - {"__future__"} - FROM_COMFYUI


def required_distributions(text: str) -> set[str]:
    names = set()
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.add(_normalise(re.split(r"[<>=!~;\[ ]", line, maxsplit=1)[0]))
    return names


def distributions_of(modules: set[str]) -> dict[str, set[str]]:
    """Import name -> the installed distributions that provide it (cv2 -> opencv-python-headless, PIL -> Pillow)."""
    provided = importlib.metadata.packages_distributions()
    return {m: {_normalise(d) for d in provided.get(m, [])} for m in sorted(modules)}


def check(requirements_text: str) -> list[str]:
    required = required_distributions(requirements_text)
    problems = []
    used = set()
    for module, dists in distributions_of(runtime_modules()).items():
        if not dists:
            problems.append(f"the runtime imports {module!r}, which no installed distribution provides")
        elif not dists & required:
            problems.append(f"the runtime imports {module!r} ({', '.join(sorted(dists))}): not in requirements.txt")
        used |= dists & required
    problems += [f"requirements.txt lists {d!r}, which the runtime never imports" for d in sorted(required - used)]
    return problems


def test_requirements_txt_is_exactly_what_the_runtime_imports():
    assert check((REPO / "requirements.txt").read_text()) == []
    assert "torch" not in required_distributions((REPO / "requirements.txt").read_text())


def test_the_check_fails_without_scipy_and_with_an_unused_package():
    text = (REPO / "requirements.txt").read_text()
    without_scipy = "\n".join(line for line in text.splitlines() if not line.startswith("scipy"))
    assert any("'scipy'" in p for p in check(without_scipy))
    assert any("'diffusers'" in p for p in check(text + "\ndiffusers>=0.30\n"))


def test_pyproject_dependencies_match_requirements_txt():
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    listed = required_distributions("\n".join(project["project"]["dependencies"]))
    assert listed == required_distributions((REPO / "requirements.txt").read_text())
    assert project["tool"]["comfy"]["requires-comfyui"].startswith(">=")


def test_a_registry_pack_ships_the_runtime_and_not_the_development_files():
    """comfy-cli's `comfy node pack` zips the git-tracked files minus .comfyignore (gitwildmatch patterns)."""
    import subprocess

    import pathspec

    tracked = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    if not tracked:  # not a git checkout (e.g. an unpacked archive): nothing to check
        return
    lines = (REPO / ".comfyignore").read_text().splitlines()
    spec = pathspec.PathSpec.from_lines(
        "gitwildmatch", [x.strip() for x in lines if x.strip() and not x.startswith("#")]
    )
    shipped = {f for f in tracked if not spec.match_file(f)}
    tops = {f.split("/")[0] for f in shipped}
    assert not tops & {"tests", "bench", ".ci", "docs", "devkit", "scripts"}, sorted(tops)
    for needed in ("__init__.py", "requirements.txt", "pyproject.toml", "README.md", "LICENSE"):
        assert needed in shipped
    for folder in ("core", "nodes", "web", "workflows"):
        assert any(f.startswith(folder + "/") for f in shipped), folder
