"""WavBriVL Gradio app: a thin view over WavBriVLPipeline (rank, generate step by step, compare volumes, blend,
long sounds segment by segment, a microphone followed live).

The page is built by wavbrivl.frontend (shared helpers in common, one builder per tab in tabs, the page in blocks);
this file sets the environment, imports `spaces` before torch (ZeroGPU), and starts the server.
"""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

try:  # ZeroGPU: `spaces` must be imported before torch touches CUDA; elsewhere its decorator does nothing
    import spaces  # noqa: F401
except ImportError:
    pass

import gradio as gr  # noqa: E402
import torch  # noqa: E402

from wavbrivl import WavBriVLPipeline  # noqa: E402
from wavbrivl.cli.common import add_model_args, choice_from_args  # noqa: E402
from wavbrivl.frontend import blocks  # noqa: E402
from wavbrivl.frontend.common import APP_CSS  # noqa: E402
from wavbrivl.frontend.model_thread import MODEL_THREAD  # noqa: E402
from wavbrivl.hosting import on_zero_gpu  # noqa: E402

__all__ = ["build_app", "main"]  # what a Space runs: the page over a pipeline, and the server

EXAMPLES = Path(__file__).resolve().parent / "assets" / "examples"
log = logging.getLogger("wavbrivl.app")


def build_app(pipe: WavBriVLPipeline) -> gr.Blocks:
    """The Blocks UI over `pipe`, with the example sounds and gallery beside this file."""
    return blocks.build_app(pipe, EXAMPLES)


def main() -> None:
    """Parse flags, load the model set named by flags, Space variables or wavbrivl.json, launch the server."""
    parser = argparse.ArgumentParser(description="WavBriVL Gradio app")
    add_model_args(parser)
    parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", "7860")))
    args = parser.parse_args()
    choice = choice_from_args(args)
    if choice.device is None and on_zero_gpu():
        choice.device = "cuda"  # ZeroGPU: the set is placed on the GPU at start; each decorated call gets a GPU slice
    log.info("model set: %s", {k: f"{getattr(choice, k)} ({v})" for k, v in choice.sources.items()})
    on_cpu = choice.device == "cpu" or (choice.device is None and not torch.cuda.is_available())
    load = MODEL_THREAD.call if on_cpu else lambda fn, *args: fn(*args)  # the CPU's model runs on one thread
    # --allow-untrained lets an untrained audio tower take sounds; else the page turns its sound-driven parts off
    pipe = load(WavBriVLPipeline.from_choice, choice, True, args.allow_untrained or None)
    if refusal := pipe.sound_refusal():  # the page says so too, and builds its sound-driven buttons unavailable
        log.warning("sounds are off in the app: %s", refusal)
    demo = build_app(pipe)
    demo.queue(default_concurrency_limit=4, max_size=64).launch(
        server_name=args.host, server_port=args.port, css=APP_CSS
    )


if __name__ == "__main__":
    main()
