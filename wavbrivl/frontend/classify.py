"""The Classify tab: the sound against class names through the text tower (zero-shot), as a bar chart."""

from __future__ import annotations

from collections.abc import Callable

import gradio as gr
import pandas as pd

from wavbrivl.hosting import SHORT_CALL_SECONDS, gpu, trimmed
from wavbrivl.zero_shot import class_prompts

from .common import DEFAULT_CLASSES, LIMITS
from .inputs import need_audio, user_error
from .notices import refused
from .tabs import Shared


def _classifier(shared: Shared) -> Callable:
    """The Classify handler over the shared pipeline: zero-shot scores of the sound against the class names."""
    pipe = shared.pipe

    @trimmed
    @gpu(SHORT_CALL_SECONDS)
    def classify(audio, volume_db, classes_text, templates_text):
        if shared.refusal:  # a sound through the API: the line under the chart says why
            return None, refused(shared.refusal, audio)
        need_audio(audio)
        names = [c.strip() for c in str(classes_text or "").replace("\n", ",").split(",") if c.strip()]
        templates = [t.strip() for t in str(templates_text or "").split("|") if t.strip()] or ["{}"]
        if not names:
            raise gr.Error("Give at least one class name (comma-separated).")
        if len(names) > LIMITS["classes"]:
            raise gr.Error(f"At most {LIMITS['classes']} class names per request; got {len(names)}.")
        try:
            result = pipe.zero_shot(shared.embed_sound(audio, float(volume_db)), names, templates)
        except Exception as err:  # noqa: BLE001
            raise user_error(err, audio) from None
        top = result.top(0, len(names))
        frame = pd.DataFrame({"class": [n for n, _ in top], "score": [s for _, s in top]})
        prompts = ", ".join(f"'{p}'" for p in class_prompts([top[0][0]], templates)[0])
        return frame, f"Best match: **{top[0][0]}** ({top[0][1]:+.3f}); prompts: {prompts}"

    return classify


def classify_tab(shared: Shared) -> None:
    """The Classify tab; its button is unavailable when the set has no text tower or refuses sounds."""
    classify, pipe = _classifier(shared), shared.pipe
    with gr.Tab("Classify"):
        shared.notice()
        gr.Markdown(
            "Zero-shot: the sound is compared with each class name through the text tower (no training)."
            if pipe.text_tower is not None
            else "⚠️ This model set has no text tower, so zero-shot classification is unavailable."
        )
        default_classes = ", ".join(pipe.class_names or DEFAULT_CLASSES)
        classes = gr.Textbox(default_classes, label="Class names (comma-separated)", lines=2)
        templates = gr.Textbox("{} | the sound of {}", label="Prompt templates ('|'-separated, {} = class name)")
        usable = pipe.text_tower is not None and not shared.refusal
        go = gr.Button("Classify the sound", variant="primary", interactive=usable)
        bars = gr.BarPlot(x="class", y="score", label="Similarity per class", sort="-y", height=240)
        best = gr.Markdown()
        inputs = [shared.audio, shared.volume, classes, templates]
        go.click(classify, inputs, [bars, best], api_name="classify", **shared.model_lane)
