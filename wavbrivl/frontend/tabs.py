"""One builder per tab of the app (Rank, Generate, Volume study; Classify and Model have modules of their own), each
with its handler over `pipe`. When the set refuses sounds (an untrained audio tower), each tab that takes the sound
says why, builds its sound-driven button non-interactive, and its handler answers a sound sent anyway (through the
HTTP API) with that reason, in its status line where it has one.

A handler that runs the model is made when its tab is built and gets `@gpu(...)` (ZeroGPU's decorator) then, and
`@trimmed` outside it (the main process hands freed heap pages back after each request).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import gradio as gr
import pandas as pd

from wavbrivl import WavBriVLPipeline, parse_volume
from wavbrivl.generation import GenerationConfig
from wavbrivl.generation.checks import SETTINGS
from wavbrivl.generation.config import MAX_SEED, check_seed
from wavbrivl.generation.request import GenerationRequest
from wavbrivl.hosting import SHORT_CALL_SECONDS, gpu, trimmed
from wavbrivl.volume import db_to_gain

from .common import LIMITS, MAX_LR
from .films import FILM_SECONDS, StepFrames, film_controls, offer_film
from .gpu import GPU_LANE, generation_gpu_seconds, study_gpu_seconds, within_one_gpu_call
from .inputs import check_image, check_image_files, guarded, load_sound, need_audio, number_check, user_error
from .notices import refused, sound_notice
from .settings import cosine_table, follow_method, method_inputs, request_config, whole
from .streaming import UNCHANGED, Inline, Throttle, streamed

LONG_SOUND_SECONDS = 2.0  # Rank points a sound longer than this to the Segments tab


@dataclass
class Shared:
    """What the tabs take from the page around them: the pipeline, the Sound and Volume inputs, the model's lane."""

    pipe: WavBriVLPipeline
    audio: gr.Audio
    volume: gr.Slider
    max_seconds: float
    model_lane: dict
    defaults: GenerationConfig
    refusal: str = ""  # the pipeline's reason for refusing sounds (an untrained audio tower), "" when they work

    def notice(self, then: str = "") -> None:
        """In a tab that takes the sound: why sounds are off and what still works there (nothing when they work)."""
        if self.refusal:
            gr.Markdown(f"{sound_notice(self.refusal)} {then}".strip())

    def embed_sound(self, audio, volumes):
        """Embed the sound, telling the user about resampling, cropping, silence and clipping."""
        embedded = self.pipe.embed_audio(load_sound(audio, self.max_seconds), volumes)
        novelty = self.pipe.novelty  # a sound unlike any the set was trained on is said first
        self.tell([*(novelty.notes(embedded) if novelty is not None else []), *embedded.notes])
        return embedded

    @staticmethod
    def tell(notes) -> None:
        """Show a request's notes (how the sound was read, settings the method does not use) as warnings."""
        for note in notes:
            gr.Warning(note)


def _ranker(shared: Shared, gallery_files: list[str]):
    pipe = shared.pipe

    @trimmed
    @gpu(SHORT_CALL_SECONDS)
    def rank(audio, files, use_examples, volume_db, text_query=""):
        text_query = str(text_query or "").strip()
        if not text_query and shared.refusal:  # a sound through the API: the page offers only the text
            raise gr.Error(sound_notice(shared.refusal, markdown=False))
        if not text_query:
            need_audio(audio)
        paths = [f if isinstance(f, str) else getattr(f, "name", str(f)) for f in (files or [])]
        if use_examples:
            paths = gallery_files + paths
        if not paths:
            raise gr.Error("Upload images to rank, or tick 'include the example gallery'.")
        if len(paths) > LIMITS["images"]:
            raise gr.Error(f"At most {LIMITS['images']} images per request; got {len(paths)}.")
        try:
            embeds = pipe.embed_images(paths)  # cached by content: a gallery is embedded once
            if text_query:
                result = pipe.rank_text(text_query, embeds)
            else:
                embedded = shared.embed_sound(audio, float(volume_db))
                result = pipe.rank(embedded, embeds)
                if embedded.clips[0].seconds > LONG_SOUND_SECONDS:  # one embedding for the whole: say where to look
                    gr.Info(f"{embedded.clips[0].name} is {embedded.clips[0].seconds:.1f} s long, ranked as one "
                            "sound; the Segments tab ranks these images by each segment and says which segment "
                            "matched each image best.")  # fmt: skip
        except Exception as err:  # noqa: BLE001 - shown to the user, the server keeps running
            raise user_error(err, audio, *paths) from None
        ranked = result.ranked(0)
        gallery = [(paths[i], f"#{r + 1}  {s:+.3f}") for r, (i, s) in enumerate(ranked)]
        bars = pd.DataFrame(
            {
                "image": [f"#{r + 1} {Path(paths[i]).stem}" for r, (i, _) in enumerate(ranked)],
                "score": [s for _, s in ranked],
            }
        )
        return gallery, bars

    return rank


def rank_tab(shared: Shared, gallery_files: list[str]) -> None:
    """The Rank tab: images ordered by the sound, or by a text (the only way when the set refuses sounds)."""
    rank, has_text = _ranker(shared, gallery_files), shared.pipe.text_tower is not None
    with gr.Tab("Rank"):
        shared.notice("Rank by a text below." if has_text else "")
        with gr.Row():
            files = guarded(gr.File(file_count="multiple", file_types=["image"], label="Images"), check_image_files)
            use_examples = gr.Checkbox(value=bool(gallery_files), label="Include the example gallery")
        by = "text" if shared.refusal else "sound"  # a set that refuses sounds ranks by a text only
        label = "The text to rank by" if shared.refusal else "…or rank by a text instead of the sound"
        text_query = gr.Textbox(
            "",
            label=f"{label} (text tower)",
            placeholder="a large yellow triangle",
            interactive=has_text,
        )
        rank_btn = gr.Button(f"Rank images by the {by}", variant="primary", interactive=has_text or not shared.refusal)
        ranked = gr.Gallery(label="Best match first", columns=6, height="auto")
        bars = gr.BarPlot(x="image", y="score", label="Scores", sort="-y", height=220)
        inputs = [shared.audio, files, use_examples, shared.volume, text_query]
        rank_btn.click(rank, inputs, [ranked, bars], api_name="rank", **shared.model_lane)


def run_request(
    shared: Shared, audio, request: Callable[[], GenerationRequest], show: Callable, labels: Callable | None = None
) -> Iterator:
    """The one streaming skeleton of Generate and the Volume study: make the checked request (pipe.prepare), say its
    notes, run it, and yield what `show(request, step, n, images)` makes of each step, then the session's film state:
    emptied at the first step, the run's StepFrames (its steps' pictures; `labels(request)` captions them) at the
    final one, and left as it is between (on ZeroGPU each message is copied out of the GPU's process); any refusal
    becomes the user's error."""
    try:
        checked = request()
        shared.tell(checked.notes)
        frames = StepFrames(labels(checked) if labels is not None else None)
        for n, step in enumerate(shared.pipe.generate(checked)):
            images = step.images
            frames.add(images, step.final)
            yield *show(checked, step, n, images), frames if step.final else None if n == 0 else gr.skip()
    except Exception as err:  # noqa: BLE001 - shown to the user, the server keeps running
        raise user_error(err, audio) from None


def _generator(shared: Shared):
    pipe = shared.pipe

    @trimmed
    @gpu(generation_gpu_seconds)
    def generate(
        audio, volume_db, steps, seed, size, lr, cutn, init, prompts="", method=None, sample_steps=None, guidance=None,
        noise=None,
    ):  # fmt: skip
        prompts = str(prompts or "").strip()
        if shared.refusal and (audio is not None or not prompts):  # the status says why; the stream ends cleanly
            status = refused(shared.refusal, audio, "Write text prompts to generate from.")
            yield UNCHANGED, UNCHANGED, UNCHANGED, status, None
            return
        if not prompts:
            need_audio(audio)
        lr = float(lr) if lr is not None else None
        strip, curve, heavy, sent = [], [], Throttle(), [0]

        def request():
            config = request_config(pipe, method, sample_steps, guidance, noise, steps=whole(steps), size=whole(size),
                                    lr=lr, cutn=whole(cutn), seed=seed)  # fmt: skip
            sound = load_sound(audio, shared.max_seconds) if audio is not None else None
            return pipe.prepare(sound, float(volume_db), config, prompts or None, init_image=init)

        def show(request, step, n, images):
            image = images[0]  # sent at its own size: the page enlarges it without blur (APP_CSS)
            picture = Inline(image)  # encoded once, for the current step and the strip alike
            curve.append({"step": step.step, "similarity": step.similarity[0]})
            if step.final or step.step % max(1, step.total // 10) == 0:
                strip.append((picture, "final" if step.final else f"step {step.step}"))
            label = "final" if step.final else f"step {step.step + 1}/{step.total}"
            config = request.config
            status = f"seed {config.seed} — {label}, {config.method}, similarity {step.similarity[0]:+.4f}"
            if step.final:  # the final pictures are files, to download
                return image, [(item.image, caption) for item, caption in strip], pd.DataFrame(curve), status
            if heavy.due():  # the status, strip (when it grew) and curve: twice a second
                grown, sent[0] = len(strip) > sent[0], len(strip)
                return picture, list(strip) if grown else UNCHANGED, pd.DataFrame(curve), status
            return picture, UNCHANGED, UNCHANGED, UNCHANGED  # every step's picture: each changed output costs a render

        yield from run_request(shared, audio, request, show)

    return generate


def generate_tab(
    shared: Shared,
) -> tuple[gr.Number, gr.Slider, gr.Slider, tuple[gr.Radio, gr.Slider, gr.Number, gr.Number]]:
    """The Generate tab; its seed, size, cutouts and method fields, which the Volume study uses too."""
    generate, defaults, has_text = _generator(shared), shared.defaults, shared.pipe.text_tower is not None
    with gr.Tab("Generate"):
        shared.notice("Text prompts alone still make a picture." if has_text else "")
        methods = method_inputs(shared.pipe, shared.defaults)
        with gr.Row():
            steps = gr.Slider(
                1, LIMITS["steps"], value=defaults.steps, step=1, label="Steps", info="VQGAN optimisation"
            )
            seed = gr.Number(0, precision=0, minimum=-1, maximum=MAX_SEED, label="Seed (-1: random)")
            size = gr.Slider(
                16, LIMITS["size"], value=defaults.size, step=16, label="Size (px)", info="VQGAN and unCLIP"
            )
            lr = gr.Number(defaults.lr, minimum=0, maximum=MAX_LR, label="Learning rate")
            cutn = gr.Slider(1, LIMITS["cutn"], value=defaults.cutn, step=1, label="Cutouts")
            checks = (SETTINGS["steps"].check, check_seed, SETTINGS["size"].check, SETTINGS["lr"].check,
                      SETTINGS["cutn"].check)  # fmt: skip
            for number, library in zip((steps, seed, size, lr, cutn), checks):
                guarded(number, number_check(library))
        method, sample_steps, guidance, noise = methods
        follow_method(method, defaults.method, {"steps": steps, "size": size, "lr": lr, "cutn": cutn,
                                                 "sample_steps": sample_steps, "guidance_scale": guidance,
                                                 "noise_level": noise})  # fmt: skip
        with gr.Row():
            init = guarded(gr.Image(type="pil", label="Init image (optional)", height=160), check_image)
            prompts = gr.Textbox(
                "",
                label="Text prompts (optional): 'words:weight | words:-weight' — negative weights avoid",
                placeholder="a large red circle:0.5 | blue triangle:-0.5",
                lines=2,
                interactive=has_text,
            )
        with gr.Row():
            go = gr.Button("Generate", variant="primary", interactive=has_text or not shared.refusal)
            stop = gr.Button("Stop")
        with gr.Row():
            current = streamed(
                gr.Image(
                    label="Current step",
                    format="png",
                    height=384,
                    elem_id="current-step",
                    elem_classes=["pixelated"],
                    scale=2,
                )
            )
            curve = streamed(
                gr.LinePlot(
                    x="step", y="similarity", label="Similarity to the sound (or the first prompt)", height=384, scale=1
                )
            )
        strip = streamed(
            gr.Gallery(label="Every k-th step", columns=12, height="auto", format="png", elem_classes=["pixelated"])
        )
        status = streamed(gr.Markdown())
        film_format, film = film_controls("Film of every step")
        frames = gr.State(None, time_to_live=FILM_SECONDS)  # the last run's steps (StepFrames), for its film
        job = go.click(
            within_one_gpu_call(generate, generation_gpu_seconds),
            [shared.audio, shared.volume, steps, seed, size, lr, cutn, init, prompts, *methods],
            [current, strip, curve, status, frames],
            api_name="generate",
            show_progress="hidden",  # the status line counts the steps; an overlay would cover the pictures forming
            **GPU_LANE,
        )
        stop.click(None, None, None, cancels=[job])
        offer_film(go, job, frames, film_format, film, "generate_film")
    return seed, size, cutn, methods


def _volume_studier(shared: Shared):
    pipe = shared.pipe

    @trimmed
    @gpu(study_gpu_seconds)
    def volume_study(
        audio, volumes_text, steps, seed, size, cutn, method=None, sample_steps=None, guidance=None, noise=None
    ):
        if shared.refusal:  # a sound through the API: the status says why, the stream ends cleanly
            yield [], refused(shared.refusal, audio), "", None
            return
        need_audio(audio)
        texts = str(volumes_text or "").replace(",", " ").split()
        if not 1 <= len(texts) <= LIMITS["volumes"]:
            raise gr.Error(f"Give 1 to {LIMITS['volumes']} volumes, e.g. '-12 -6 0 6 12'; got {len(texts)}.")
        volumes, table = [], []

        def request():
            volumes.extend(parse_volume(v) for v in texts)
            config = request_config(pipe, method, sample_steps, guidance, noise, steps=whole(steps), size=whole(size),
                                    cutn=whole(cutn), seed=seed)  # fmt: skip
            return pipe.prepare(load_sound(audio, shared.max_seconds), volumes, config)

        def show(request, step, n, images):
            if n == 0:  # the same table for the whole run
                embeddings = request.sound.embeddings
                table.append(cosine_table(volumes, (embeddings @ embeddings.T).numpy()))
            labels = [f"{v:+g} dB (×{db_to_gain(v):.2f}) sim {s:+.3f}" for v, s in zip(volumes, step.similarity)]
            label = "final" if step.final else f"step {step.step + 1}/{step.total}"
            images = images if step.final else [Inline(image) for image in images]  # the final: files
            shown = table[0] if n == 0 or step.final else UNCHANGED
            return list(zip(images, labels)), f"seed {request.config.seed} — {label}, {request.config.method}", shown

        yield from run_request(shared, audio, request, show, lambda request: [f"{v:+g} dB" for v in volumes])

    return volume_study


def volume_study_tab(
    shared: Shared,
    seed: gr.Number,
    size: gr.Slider,
    cutn: gr.Slider,
    method_inputs: tuple[gr.Radio, gr.Slider, gr.Number, gr.Number],
) -> None:
    volume_study = _volume_studier(shared)
    with gr.Tab("Volume study"):
        shared.notice()
        gr.Markdown("Uses the Generate tab's method, seed, size and cutouts.")
        volumes = gr.Textbox("-12 -6 0 6 12", label="Volumes (dB, or factors like 0.5x)")
        steps = gr.Slider(
            1, LIMITS["steps"], value=shared.defaults.steps, step=1, label="Steps", info="VQGAN optimisation"
        )
        guarded(steps, number_check(SETTINGS["steps"].check))
        follow_method(method_inputs[0], shared.defaults.method, {"steps": steps})
        with gr.Row():
            go = gr.Button(
                "Generate side by side (one batch, one seed)", variant="primary", interactive=not shared.refusal
            )
            stop = gr.Button("Stop")
        side = gr.Gallery(
            label="One image per volume", columns=6, height="auto", format="png", elem_classes=["pixelated"]
        )
        streamed(side)
        status = gr.Markdown()
        cos_table = streamed(gr.Markdown())
        film_format, film = film_controls("Film of every step, the volumes side by side")
        frames = gr.State(None, time_to_live=FILM_SECONDS)
        job = go.click(
            within_one_gpu_call(volume_study, study_gpu_seconds),
            [shared.audio, volumes, steps, seed, size, cutn, *method_inputs],
            [side, status, cos_table, frames],
            api_name="volume_study",
            **GPU_LANE,
        )
        stop.click(None, None, None, cancels=[job])
        offer_film(go, job, frames, film_format, film, "volume_study_film")
