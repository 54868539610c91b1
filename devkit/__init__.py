"""The pack's development toolkit, shared by tests, benchmarks and scripts: where things are (``paths``), an
in-process ComfyUI (``comfy_env``), random-weight model files in the real formats (``sd15``, ``animatediff``,
``unet``, ``wan``), a real ComfyUI server (``server``, optionally with the test-only nodes of ``fixture_nodes``),
headless Chromium (``browser``), the shipped workflows as data (``workflow_specs``, ``workflow_parts``,
``workflow_notes``, ``workflow_builder``) and their pictures (``workflow_pictures``), and running them headless
(``pipeline``, ``demo_assets``).

Everything imports it one way, as ``comfyui_interactivevideo.devkit`` (and the pack's library as
``comfyui_interactivevideo.core``): ``scripts/setup.sh`` links the checkout into ``.venv``'s site-packages
under that name. The only ``sys.path`` edit is ``comfy_env.comfy_importable()``, which makes ComfyUI's own
modules importable. ComfyUI never imports this package: the pack's entry point (``__init__.py``) loads only
``nodes`` and ``core``.
"""
