"""A fixture custom node pack for tests (never shipped: devkit/ is in .comfyignore).

``devkit.server.ComfyServer(..., fixture_nodes=True)`` links this folder into the base directory's
``custom_nodes/``. It stands in for what a test server cannot run, such as Wan's 5.7 B-parameter umt5-xxl text
encoder. V1 style (``NODE_CLASS_MAPPINGS``), importing nothing of ComfyUI or of the pack.
"""

from .wan_text import TEXT_LEN, text_embedding


class IVTestWanTextEmbedding:
    """Text → a Wan CONDITIONING ``[[tensor [1, length, 4096], {}]]``, deterministic from the text's hash."""

    CATEGORY = "testing/InteractiveVideo"
    RETURN_TYPES = ("CONDITIONING",)
    FUNCTION = "encode"

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "text": ("STRING", {"multiline": True, "default": ""}),
                "length": ("INT", {"default": TEXT_LEN, "min": 1, "max": 4096}),
            }
        }

    def encode(self, text: str, length: int = TEXT_LEN):
        return ([[text_embedding(text, length), {}]],)


NODE_CLASS_MAPPINGS = {"IVTest_WanTextEmbedding": IVTestWanTextEmbedding}
NODE_DISPLAY_NAME_MAPPINGS = {"IVTest_WanTextEmbedding": "Wan Text Embedding (IV test fixture)"}
