"""The generation settings' controls the tabs share (the method and its knobs, shown as the method uses them), and
the request's settings read from them."""

from __future__ import annotations

import gradio as gr
import torch

from wavbrivl import WavBriVLPipeline
from wavbrivl.blend import embedding_request
from wavbrivl.generation import GenerationConfig
from wavbrivl.generation.checks import MAX_GUIDANCE, SETTINGS
from wavbrivl.generation.config import GenerationStep
from wavbrivl.generation.registry import REGISTRY

from .common import LIMITS, METHOD_LABELS
from .inputs import guarded, number_check
from .model_thread import sampling_threads


def method_inputs(
    pipe: WavBriVLPipeline, defaults: GenerationConfig
) -> tuple[gr.Radio, gr.Slider, gr.Number, gr.Number]:
    """The method choice (the ones this set offers, its default first) and the one-pass methods' knobs."""
    offered = pipe.methods()
    with gr.Row():
        method = gr.Radio(
            [(METHOD_LABELS[m], m) for m in offered],
            value=defaults.method,
            label="Method",
            interactive=len(offered) > 1,
        )
        sample_steps = gr.Slider(1, LIMITS["sample_steps"], value=defaults.sample_steps, step=1, label="Sampling steps")
        guidance = gr.Number(defaults.guidance_scale, minimum=0, maximum=MAX_GUIDANCE, label="Guidance")
        noise = gr.Number(defaults.noise_level, minimum=0, maximum=999, precision=0, label="Noise level (unCLIP)")
        for number, key in ((sample_steps, "sample_steps"), (guidance, "guidance_scale"), (noise, "noise_level")):
            guarded(number, number_check(SETTINGS[key].check))
    return method, sample_steps, guidance, noise


def follow_method(method: gr.Radio, chosen: str, controls: dict[str, gr.Component]) -> None:
    """Show only the controls the chosen method uses (generation.registry), now and whenever the choice changes."""

    for setting, component in controls.items():
        component.visible = setting in REGISTRY[chosen].settings

    def show(picked: str):
        shown = [gr.update(visible=setting in REGISTRY[picked].settings) for setting in controls]
        return shown if len(shown) > 1 else shown[0]  # one output takes the value itself, not a list of one

    method.change(
        show,
        method,
        list(controls.values()),
        queue=False,
        show_progress="hidden",
        api_name=False,
    )


def whole(value) -> int | None:
    """A whole-number control's value; None for a control the page never sent (hidden: the method does not use it)."""
    return int(value) if value is not None else None


def request_config(pipe: WavBriVLPipeline, method, sample_steps, guidance, noise, **values) -> GenerationConfig:
    """The request's GenerationConfig: the set's defaults with the form's values (pipe.prepare checks it)."""
    return pipe.generation_config(
        method=method or None,
        sample_steps=int(sample_steps) if sample_steps is not None else None,
        guidance_scale=float(guidance) if guidance is not None else None,
        noise_level=int(noise) if noise is not None else None,
        **values,
    )


def cosine_table(volumes: list[float], cos) -> str:
    """The volumes' embeddings' cosines to each other as a Markdown table."""
    header = "| cosine | " + " | ".join(f"{v:+g} dB" for v in volumes) + " |\n|---|" + "---|" * len(volumes)
    rows = [f"| {v:+g} dB | " + " | ".join(f"{c:.3f}" for c in row) + " |" for v, row in zip(volumes, cos)]
    return "\n".join([header, *rows])


def picture_config(pipe: WavBriVLPipeline, seed, size, cutn, method, sample_steps, guidance, noise) -> GenerationConfig:
    """The settings of pictures drawn toward given embeddings (a blend, segments): the Generate tab's method, seed,
    size, cutouts and sampling knobs over the set's defaults (the optimisation's steps and rate: the set's)."""
    return request_config(pipe, method, sample_steps, guidance, noise, size=whole(size), cutn=whole(cutn), seed=seed)


def resolved(pipe: WavBriVLPipeline, target: torch.Tensor, config: GenerationConfig) -> GenerationConfig:
    """The settings checked as a request checks them, a random seed (-1) drawn (run it on the model thread)."""
    return embedding_request(pipe, target, config).config


def final_picture(pipe: WavBriVLPipeline, target: torch.Tensor, config: GenerationConfig) -> GenerationStep:
    """The final step of one picture drawn toward `target` (run it on the model thread)."""
    with sampling_threads(pipe, config.method):
        *_, last = pipe.generate(embedding_request(pipe, target, config))
    return last
