"""What the page says about the loaded set: its header and Model tab, which parts are trained, why sounds are off."""

from __future__ import annotations

import gradio as gr

from wavbrivl import WavBriVLPipeline
from wavbrivl.loading import OFFLINE_PRESET

from .common import LIMITS

SOUNDS_OFF = "Sounds are off for this model set"


def sound_notice(refusal: str, markdown: bool = True) -> str:
    """The visitor's words for sounds refused by the pipeline (its own line inside), or "" when sounds work."""
    if not refusal:
        return ""
    return f"⚠️ **{SOUNDS_OFF}**: {refusal}." if markdown else f"{SOUNDS_OFF}: {refusal}."


def still_working(pipe: WavBriVLPipeline) -> str:
    """What a set whose sounds are off still does in this app."""
    if pipe.text_tower is not None:
        return "Ranking images by a text, generating from text prompts and the Model tab still work."
    return "This set has no text tower either, so only the Model tab works here."


def refused(refusal: str, audio: object, then: str = "") -> str:
    """A handler's answer when the set refuses sounds: the reason, and (with no sound given) what to give instead."""
    return sound_notice(refusal) if audio is not None or not then else f"{sound_notice(refusal)} {then}"


def trained_summary(info: dict) -> str:
    """One line naming the trained and the untrained components of `info` (the pipeline's info())."""
    parts = info["components"]
    trained = [name for name, part in parts.items() if part["trained"]]
    untrained = [name for name, part in parts.items() if not part["trained"]]
    line = "**Trained:** " + (", ".join(f"`{name}`" for name in trained) or "none")
    if untrained:
        line += " — ⚠️ **UNTRAINED:** " + ", ".join(f"`{name}`" for name in untrained)
    return line


WHAT_THIS_IS = (
    "Record or upload a sound: WavBriVL ranks pictures by it and draws a picture for it, through a frozen "
    "vision-language space; turn the volume up or down and compare."
)


def loaded_line(info: dict, classes: int) -> str:
    """One line saying which set is loaded and what it knows (the offline default: its `classes` toy tones)."""
    if info["preset"] == OFFLINE_PRESET:
        return (
            f"Loaded: **the offline default**, trained on {classes} toy tones, each a coloured shape (louder "
            "draws bigger); it knows no real sound. The Model tab says more."
        )
    return f"Loaded: **{info['preset']}** — {info['description']}. The Model tab says more."


def banner(pipe: WavBriVLPipeline) -> str:
    """The header under the title: what this is and which set is loaded, in two lines; then why sounds are off or
    which parts are untrained, if so. The components and the limits are in the Model tab."""
    info, refusal = pipe.info(), pipe.sound_refusal()
    lines = [WHAT_THIS_IS, loaded_line(info, len(pipe.class_names))]
    others = [name for name in pipe.untrained if not (refusal and name == "audio_tower")]
    if others:  # untrained parts still in use (an audio tower whose sounds are refused is not)
        lines.append(f"⚠️ **Untrained weights in use ({', '.join(others)}): results demonstrate the plumbing only.**")
    if refusal:
        lines.insert(0, f"{sound_notice(refusal)} {still_working(pipe)}")
        lines.append(trained_summary(info))
    return "\n\n".join(lines)


def components_list(info: dict) -> str:
    """The set's components, one line each: class, parameters, trained or not, where from."""
    lines = [f"**Model set** `{info['preset']}` on `{info['device']}` — {info['description']}"]
    for name, part in info["components"].items():
        state = "trained" if part["trained"] else "⚠️ **UNTRAINED**" + (f" ({part['note']})" if part["note"] else "")
        lines.append(f"- {name}: {part['class']}, {part['parameters']:,} parameters, {state}, from `{part['source']}`")
    return "\n".join(lines)


def model_tab(pipe: WavBriVLPipeline) -> None:
    """The Model tab: the components (trained or not), why sounds are off (if they are), the limits, and info()."""
    info, refusal = pipe.info(), pipe.sound_refusal()
    limits = ", ".join(f"{k.replace('_', ' ')} ≤ {v}" for k, v in LIMITS.items())
    with gr.Tab("Model"):
        off = f"\n\n{sound_notice(refusal)} {still_working(pipe)}" if refusal else ""
        gr.Markdown(f"{trained_summary(info)}{off}\n\n{components_list(info)}\n\n*Limits per request:* {limits}.")
        gr.JSON(info, label="Loaded weights")
