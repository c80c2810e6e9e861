"""The Segments tab: a long sound cut into segments, one embedding each; a timeline of one picture per segment (one
seed for all), each segment's best matches in a gallery, the gallery ranked by each image's best segment, and a
contact sheet and the JSON to download."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import gradio as gr
import pandas as pd

from wavbrivl.data.image import load_images
from wavbrivl.errors import InputError
from wavbrivl.hosting import gpu, trimmed
from wavbrivl.segments import (
    MIN_SEGMENT_SECONDS,
    SegmentStudy,
    embed_segments,
    rank_by_segments,
    segment_sheet,
    split_sound,
    study_as_dict,
    top_matches,
)

from .common import LIMITS
from .films import out_file
from .gpu import GPU_LANE, pictures_gpu_seconds, within_one_gpu_call
from .inputs import check_image_files, guarded, load_sound, need_audio, number_check, user_error
from .model_thread import model_call
from .notices import refused
from .settings import final_picture, picture_config, resolved
from .streaming import Inline, streamed
from .tabs import Shared

MAX_TOP = 5


def check_segment_seconds(shared: Shared) -> Callable:
    """The segment length's check, in the library's words (from MIN_SEGMENT_SECONDS to the longest sound)."""

    def check(value) -> None:
        if not MIN_SEGMENT_SECONDS <= float(value) <= shared.max_seconds:
            raise InputError(f"the segment length must be from {MIN_SEGMENT_SECONDS:g} to {shared.max_seconds:g} s; "
                             f"got {value}")  # fmt: skip

    return check


def _segment_count(shared: Shared, audio, seconds: float) -> int:
    """How many segments the sound makes, refused beyond this app's limit per request with the length it needs."""
    clip = load_sound(audio, shared.max_seconds)
    _, spans, _ = split_sound(clip, seconds)
    if len(spans) > LIMITS["segments"]:
        least = clip.seconds / LIMITS["segments"]
        raise gr.Error(f"Segment seconds: {seconds:g} s cuts this {clip.seconds:.1f} s sound into {len(spans)} "
                       f"segments; this app makes at most {LIMITS['segments']} pictures per request, so give at "
                       f"least {least:.2f} s.")  # fmt: skip
    return len(spans)


def _gallery(files, use_examples: bool, examples: list[str]) -> tuple[list[str], list[str]]:
    """The gallery's files (the examples first when ticked) and their names."""
    paths = [f if isinstance(f, str) else getattr(f, "name", str(f)) for f in (files or [])]
    paths = (examples if use_examples else []) + paths
    if len(paths) > LIMITS["images"]:
        raise gr.Error(f"Images: at most {LIMITS['images']} per request; got {len(paths)}.")
    return paths, [Path(p).name for p in paths]


def _ranked(pipe, embeddings, paths: list[str], top: int):
    """The gallery against the segments (run on the model thread): the ranking and each segment's top matches."""
    ranking = rank_by_segments(embeddings.cpu(), pipe.embed_images(paths).cpu())
    return ranking, top_matches(ranking, top)


def _tables(study: SegmentStudy, paths: list[str], names: list[str]) -> tuple[pd.DataFrame, list]:
    """Per segment its best matches as rows; the gallery by each image's best cosine, captioned with the segment
    that gave it (the span) and the cosine."""
    segments = study.segments
    rows = [{"segment": f"#{s} {segments.label(s)}", "rank": r + 1, "image": names[i], "score": round(score, 4)}
            for s, found in enumerate(study.matches) for r, (i, score) in enumerate(found)]  # fmt: skip
    ranked = []
    if study.ranking is not None:
        ranking = study.ranking
        for i in ranking.order:  # the span of the image's best segment, then the cosine
            ranked.append((paths[i], f"{segments.label(ranking.best_segment[i])} {ranking.best_score[i]:+.2f}"))
    return pd.DataFrame(rows, columns=["segment", "rank", "image", "score"]), ranked


def _downloads(study: SegmentStudy, paths: list[str], names: list[str]) -> tuple[str, list[str]]:
    """The contact sheet (PNG) and the study's facts (JSON) as files."""
    sheet = out_file("segments-sheet", "png")
    segment_sheet(study, load_images(paths) if paths else None, names).save(sheet)
    facts = out_file("segments", "json")
    facts.write_text(json.dumps(study_as_dict(study, names), indent=2))
    return str(sheet), [str(sheet), str(facts)]


def _segmenter(shared: Shared, examples: list[str]) -> Callable:
    """The Segments handler, streamed one segment's picture at a time."""
    pipe, steps = shared.pipe, shared.defaults.steps

    def seconds_of(audio, volume_db, seconds, files, use_examples, top, seed, size, cutn, method, sample_steps,
                   *rest) -> int:  # fmt: skip
        try:
            pictures = _segment_count(shared, audio, float(seconds))
        except Exception:  # noqa: BLE001 - the handler says what is wrong; here only the budget is estimated
            pictures = LIMITS["segments"]
        return pictures_gpu_seconds(steps, method, sample_steps, size, cutn, pictures)

    @trimmed
    @gpu(seconds_of)
    def segments(audio, volume_db, seconds, files, use_examples, top, seed, size, cutn, method=None,
                 sample_steps=None, guidance=None, noise=None):  # fmt: skip
        if shared.refusal:  # a sound through the API: the status says why, the stream ends cleanly
            yield [], refused(shared.refusal, audio), None, [], None, None
            return
        need_audio(audio)
        seconds = float(seconds if seconds is not None else 1.0)
        paths, names = _gallery(files, use_examples, examples)
        try:
            count = _segment_count(shared, audio, seconds)
            found = model_call(pipe, embed_segments, load_sound(audio, shared.max_seconds), seconds, float(volume_db))
            shared.tell(found.notes)
            config = picture_config(pipe, seed, size, cutn, method, sample_steps, guidance, noise)
            config = model_call(pipe, resolved, found.embeddings[0], config)
            pictures, timeline = [], []
            for index, embedding in enumerate(found.embeddings):
                pictures.append(model_call(pipe, final_picture, embedding, config).images[0])
                timeline.append((Inline(pictures[-1]), f"#{index} {found.label(index)}"))
                status = f"seed {config.seed}, {config.method} — segment {index + 1}/{count}"
                yield list(timeline), status, None, [], None, None
            ranking, matches = model_call(pipe, _ranked, found.embeddings, paths, int(top)) if paths else (None, [])
        except gr.Error:
            raise
        except Exception as err:  # noqa: BLE001 - shown to the user, the server keeps running
            raise user_error(err, audio, *paths) from None
        study = SegmentStudy(found, pictures, matches or [[] for _ in pictures], config, ranking)
        table, ranked = _tables(study, paths, names)
        sheet, files_out = _downloads(study, paths, names)
        final = [(picture, f"#{i} {found.label(i)}") for i, picture in enumerate(pictures)]
        status = (f"seed {config.seed}, {config.method}: {count} segments of {seconds:g} s"
                  + (f", {len(paths)} images ranked by their best segment" if paths else ""))  # fmt: skip
        yield final, status, table, ranked, sheet, files_out

    return segments


def segments_tab(
    shared: Shared, gallery_files: list[str], seed: gr.Number, size: gr.Slider, cutn: gr.Slider, methods: tuple
) -> None:
    """The Segments tab: the page's sound segment by segment, a picture and the gallery's best matches each."""
    segments = _segmenter(shared, gallery_files)
    with gr.Tab("Segments"):
        shared.notice()
        gr.Markdown("A long sound, one embedding per segment: a picture each (one seed for all) and the gallery's "
                    "best matches. Uses the Generate tab's method, seed, size and cutouts.")  # fmt: skip
        with gr.Row():
            seconds = gr.Number(1.0, minimum=MIN_SEGMENT_SECONDS, maximum=shared.max_seconds, step=0.1,
                                label="Segment seconds")  # fmt: skip
            guarded(seconds, number_check(check_segment_seconds(shared)))
            top = guarded(gr.Slider(1, MAX_TOP, value=3, step=1, label="Best matches per segment"), number_check())
        with gr.Row():
            files = guarded(gr.File(file_count="multiple", file_types=["image"], label="Images"), check_image_files)
            use_examples = gr.Checkbox(value=bool(gallery_files), label="Include the example gallery")
        go = gr.Button("Picture each segment", variant="primary", interactive=not shared.refusal)
        timeline = streamed(gr.Gallery(label="Timeline: one picture per segment", columns=8, height="auto",
                                       format="png", elem_classes=["pixelated"], preview=False))  # fmt: skip
        status = gr.Markdown()
        matches = gr.Dataframe(label="Best matches per segment", interactive=False)
        ranked = gr.Gallery(label="The gallery by each image's best segment (its span and cosine)", columns=6,
                            height="auto")  # fmt: skip
        with gr.Row():
            sheet = gr.Image(label="Contact sheet", type="filepath", format="png", interactive=False)
            downloads = gr.File(label="Contact sheet (PNG) and facts (JSON)", file_count="multiple", interactive=False)
        inputs = [shared.audio, shared.volume, seconds, files, use_examples, top, seed, size, cutn, *methods]
        go.click(within_one_gpu_call(segments, segments.gpu_duration), inputs,
                 [timeline, status, matches, ranked, sheet, downloads], api_name="segments", **GPU_LANE)  # fmt: skip
