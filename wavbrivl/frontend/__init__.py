"""The Gradio front end over WavBriVLPipeline: shared checks and helpers (common), one builder per tab (tabs,
classify, blend_tab, segments_tab, live), the generation settings' controls the tabs share (settings), films to download
(films), what the page says about the set (notices: its header, the Model tab, why sounds are off), the page that
assembles them (blocks). The top-level app.py imports `spaces` first (ZeroGPU), then builds from here."""

from wavbrivl.frontend.blocks import build_app

__all__ = ["build_app"]
