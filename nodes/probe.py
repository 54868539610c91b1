"""A trivial real node that proves the harness end to end until the pack's capability nodes exist.

Removed as soon as a capability node can take its place in the e2e test (foundation issue, point 4)."""

from comfy_api.latest import io


class IV_ImageInfo(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="IV_ImageInfo",
            display_name="Image Info (IV)",
            category="InteractiveVideo/utils",
            description="Frame count and size of an IMAGE batch.",
            inputs=[io.Image.Input("image", tooltip="An IMAGE batch [frames, height, width, channels].")],
            outputs=[io.Int.Output("frames"), io.Int.Output("width"), io.Int.Output("height")],
            is_output_node=True,
        )

    @classmethod
    def execute(cls, image) -> io.NodeOutput:
        frames, height, width = int(image.shape[0]), int(image.shape[1]), int(image.shape[2])
        return io.NodeOutput(frames, width, height, ui={"text": [f"{frames} x {width}x{height}"]})
