"""The app's page: the model banner, the Sound and Volume inputs with their level preview, then one tab per task."""

from __future__ import annotations

from pathlib import Path

import gradio as gr
import torch

from wavbrivl import WavBriVLPipeline
from wavbrivl.volume import check_volume_db

from .blend_tab import blend_tab
from .classify import classify_tab
from .common import LIMITS
from .gpu import GPU_LANE
from .inputs import CONTAINER_UPLOADS, guarded, number_check, waveform_view
from .live import live_tab
from .model_thread import OnModelThread
from .notices import banner, model_tab
from .segments_tab import segments_tab
from .tabs import Shared, generate_tab, rank_tab, volume_study_tab


def _sound_panel(example_sounds: list[str], off: bool = False) -> tuple[gr.Audio, gr.Slider, gr.LinePlot, gr.Markdown]:
    """The Sound box (upload, microphone, a video's sound track, examples) and the Volume slider with its preview.

    off: the set refuses sounds (an untrained audio tower), so the box, its upload button and the slider are built
    non-interactive and the example sounds are left out (the header says why)."""
    example_sounds = [] if off else example_sounds
    with gr.Row():
        with gr.Column(scale=2):
            # filepath, no format: Gradio hands over the file untouched (its own decoding needs ffprobe)
            audio = gr.Audio(
                sources=["upload", "microphone"], type="filepath", format=None, elem_id="sound",
                label="Sound (off for this model set: see above)" if off else "Sound", interactive=not off,
            )  # fmt: skip
            guarded(audio)
            # The Sound box's own upload takes only audio/* types; browsers call webm and mp4 files video/*,
            # so those (and videos' sound tracks) come in through this button, into the same Sound box.
            other = gr.UploadButton(
                "Upload a video or a webm / mp4 / m4a sound",
                file_types=sorted(CONTAINER_UPLOADS),
                size="sm",
                elem_id="sound-file",
                interactive=not off,
            )
            other.upload(lambda file: file, other, audio, api_name=False, queue=False)
            if example_sounds:
                gr.Examples(example_sounds, inputs=audio, label="Example sounds")
        with gr.Column(scale=1):
            slider = gr.Slider(-24, 24, value=0, step=1, label="Volume (dB)", interactive=not off)
            volume = guarded(slider, number_check(check_volume_db))
            level_text = gr.Markdown()
            level_plot = gr.LinePlot(
                x="seconds", y="peak", label="Peak after gain (1.0 = full scale)", y_lim=[0, 2], height=160
            )
    return audio, volume, level_plot, level_text


def build_app(pipe: WavBriVLPipeline, examples: Path | None = None) -> gr.Blocks:
    """The Blocks UI; every handler calls the pipeline and turns user errors into gr.Error.

    `examples` is a folder of example sounds (*.wav) with a `gallery` folder of example pictures (*.png).
    """
    gallery_files = sorted(str(p) for p in (examples / "gallery").glob("*.png")) if examples else []
    example_sounds = sorted(str(p) for p in examples.glob("*.wav")) if examples else []

    max_seconds = min(LIMITS["audio_seconds"], pipe.max_audio_seconds)
    refusal = pipe.sound_refusal()  # an untrained audio tower: every sound-driven control is built unavailable
    _ = pipe.novelty  # found (or not) once, at start: no request pays for it
    # One GPU is one resource: with one, every handler that runs the model takes turns (rankings, classifications
    # and generations cannot run it out of memory together). On the CPU only the long generations take turns.
    on_gpu = torch.cuda.is_available() or pipe.device.type != "cpu"
    model_lane = GPU_LANE if on_gpu else {}
    if not on_gpu:  # on the CPU every model call runs on one thread (model_thread.py says why)
        pipe = OnModelThread(pipe)

    def level_view(audio, volume_db):
        return waveform_view(audio, volume_db, max_seconds)

    with gr.Blocks(title="WavBriVL") as demo:
        gr.Markdown("# WavBriVL — sound to image\n" + banner(pipe), elem_id="banner")
        audio, volume, level_plot, level_text = _sound_panel(example_sounds, off=bool(refusal))
        for trigger in (audio.change, volume.change):
            trigger(level_view, [audio, volume], [level_plot, level_text], show_progress="hidden", queue=False)
        shared = Shared(pipe, audio, volume, max_seconds, model_lane, pipe.generation_config(), refusal)
        rank_tab(shared, gallery_files)
        seed, size, cutn, method_inputs = generate_tab(shared)
        volume_study_tab(shared, seed, size, cutn, method_inputs)
        blend_tab(shared, seed, size, cutn, method_inputs)
        segments_tab(shared, gallery_files, seed, size, cutn, method_inputs)
        classify_tab(shared)
        live_tab(shared, gallery_files)
        model_tab(pipe)
    return demo
