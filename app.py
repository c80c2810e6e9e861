"""WavBriVL Gradio app: a thin view over WavBriVLPipeline (rank, generate step by step, compare volumes)."""

from __future__ import annotations

import argparse
import functools
import logging
import math
import os
import re
import threading
from collections import OrderedDict
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

try:  # ZeroGPU: `spaces` must be imported before torch touches CUDA; elsewhere its decorator does nothing
    import spaces  # noqa: F401
except ImportError:
    pass

import gradio as gr  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402
from gradio_client.utils import is_valid_file  # noqa: E402
from PIL import Image  # noqa: E402

from wavbrivl import AudioClip, WavBriVLError, WavBriVLPipeline, load_audio, load_image, parse_volume  # noqa: E402
from wavbrivl.data.audio import MAX_AUDIO_SECONDS  # noqa: E402
from wavbrivl.data.image import IMAGE_SUFFIXES  # noqa: E402
from wavbrivl.data.video import CONTAINER_AUDIO_SUFFIXES, VIDEO_SUFFIXES  # noqa: E402
from wavbrivl.factory import OFFLINE_PRESET  # noqa: E402
from wavbrivl.generation import resolve_seed  # noqa: E402
from wavbrivl.hosting import SHORT_CALL_SECONDS, ZEROGPU_MAX_SECONDS, generation_seconds, gpu, on_zero_gpu  # noqa: E402
from wavbrivl.settings import add_model_args, choice_from_args, load_pipeline  # noqa: E402
from wavbrivl.volume import apply_gain, db_to_gain  # noqa: E402
from wavbrivl.zero_shot import class_prompts  # noqa: E402

EXAMPLES = Path(__file__).resolve().parent / "assets" / "examples"
DEFAULT_CLASSES = ["dog", "rain", "siren", "engine"]  # for a set that names no classes of its own
CONTAINER_UPLOADS = VIDEO_SUFFIXES | CONTAINER_AUDIO_SUFFIXES | {".ogg", ".mp3"}
LIMITS = {
    "images": 200,
    "steps": 300,
    "size": 512,
    "cutn": 32,
    "volumes": 6,
    "audio_seconds": MAX_AUDIO_SECONDS,
    "classes": 500,
}
MAX_SEED = 2**32 - 1
MAX_LR = 10.0
GPU_LANE = {"concurrency_id": "gpu", "concurrency_limit": 1}  # the handlers that take turns on the model
log = logging.getLogger("wavbrivl.app")


def _banner(pipe: WavBriVLPipeline) -> str:
    info = pipe.info()
    lines = [f"**Model set** `{info['preset']}` on `{info['device']}` — {info['description']}"]
    for name, part in info["components"].items():
        state = "trained" if part["trained"] else "**UNTRAINED**"
        lines.append(f"- {name}: {part['class']}, {part['parameters']:,} parameters, {state}, from `{part['source']}`")
    if info["preset"] == OFFLINE_PRESET:
        lines.insert(
            0,
            "ℹ️ **Offline synthetic-world model set**: it knows 8 toy sound classes (tones paired with "
            "coloured shapes; louder = bigger), not real sounds. Use `--preset brivl` with real weights.",
        )
    if pipe.untrained:
        lines.insert(0, "⚠️ **Untrained weights in use: results demonstrate the plumbing only.**")
    limits = ", ".join(f"{k.replace('_', ' ')} ≤ {v}" for k, v in LIMITS.items())
    return "\n".join(lines) + f"\n\n*Limits per request:* {limits}."


_SERVER_COPY = re.compile(r"[^\s'\"(]*/[0-9a-f]{32,}/")  # the folder of Gradio's copy of an upload


def _named(text: str, files=()) -> str:
    """The text with every upload's server path replaced by its file name (Gradio keeps the original name)."""
    for file in sorted({str(f) for f in files if isinstance(f, (str, os.PathLike))}, key=len, reverse=True):
        text = text.replace(file, Path(file).name)
    return _SERVER_COPY.sub("", text)


def _error(err: Exception, *files) -> gr.Error:
    """The project's message, naming uploads by their original file names rather than the server's copies."""
    if isinstance(err, gr.Error):
        return err
    if isinstance(err, WavBriVLError):
        text = str(err)
    elif isinstance(err, torch.cuda.OutOfMemoryError):
        torch.cuda.empty_cache()
        text = "the GPU ran out of memory for this request; try a smaller size, fewer cutouts or fewer volumes"
    else:  # a bug: logged with its traceback, and shown as what it is
        log.error("request failed", exc_info=err)
        text = f"the request failed with an unexpected {type(err).__name__}: {err} (please report this bug)"
    return gr.Error(_named(text, files))


def _number(value: float) -> str:
    if isinstance(value, int):
        return str(value)
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else f"{value:g}"


def _check_number(component, payload):
    """A number from the UI or the API, within the component's own bounds, else the field's name and its range."""
    label = component.label
    if payload is None:
        if isinstance(component, gr.Slider):
            raise gr.Error(f"{label}: no value was given")
        return None  # an empty number box: the handler's default
    try:
        value = float(payload) if not isinstance(payload, bool) else math.nan
    except (TypeError, ValueError, OverflowError):
        value = math.nan
    if not math.isfinite(value):
        raise gr.Error(f"{label}: {str(payload)[:40]!r} is not a finite number")
    low, high = component.minimum, component.maximum
    if (low is not None and value < low) or (high is not None and value > high):
        bounds = f"from {_number(low)} to {_number(high)}" if low is not None and high is not None else ""
        shown = _number(payload if isinstance(payload, int) and not isinstance(payload, bool) else value)
        raise gr.Error(f"{label}: {shown} is out of range; give a number {bounds}".rstrip())
    return value if isinstance(payload, str) else payload


def _check_image_files(component, payload):
    """Uploads in the images box: each must be an image by its name (Gradio's own check names no file)."""
    for file in payload or []:
        if file.path and not is_valid_file(file.path, component.file_types):
            name = file.orig_name or Path(file.path).name
            raise gr.Error(f"{name}: not an image file; expected one of {', '.join(sorted(IMAGE_SUFFIXES))}")
    return payload


def _check_image(component, payload):
    """An uploaded picture read by the project's loader first, so a bad one gets its message and its name."""
    if payload is not None and payload.path:
        try:
            load_image(payload.path, name=payload.orig_name or Path(payload.path).name)
        except WavBriVLError as err:
            raise _error(err, payload.path) from None
    return payload


def _guard(component, check=None):
    """Run `check`, then the component's own input processing, with every failure said in the app's words.

    Through the API, Gradio's own processing answers bad values with words that name no field ('Value 0 is less
    than minimum value 1') or with an internal error that names the server's copy of a file.
    """
    original = component.preprocess

    def preprocess(payload):
        if check is not None:
            payload = check(component, payload)
        try:
            return original(payload)
        except gr.Error as err:
            raise gr.Error(_named(f"{component.label}: {err.message}")) from None
        except Exception as err:  # noqa: BLE001 - told to the user; the server keeps running
            raise gr.Error(_named(f"{component.label}: the input could not be read ({err})")) from None

    component.preprocess = preprocess
    return component


def _need_audio(audio) -> None:
    if audio is None:
        raise gr.Error("Record or upload a sound first (or pick an example below the recorder).")


_SOUNDS: OrderedDict[tuple, AudioClip] = OrderedDict()  # the last few decoded uploads, for the level preview
_SOUNDS_LOCK = threading.Lock()
SOUND_CACHE_SIZE = 8


def load_sound(audio, max_seconds: float = LIMITS["audio_seconds"]) -> AudioClip:
    """The Sound box's file (an upload or a microphone recording) decoded by the project's loader, no ffmpeg needed.

    Named by its original file name (Gradio keeps it as the temporary copy's name); decoded once per file version,
    so moving the volume slider does not decode the file again.
    """
    if not isinstance(audio, (str, os.PathLike)):
        return load_audio(audio, max_seconds=max_seconds)
    path = Path(audio)
    try:
        stat = path.stat()
    except OSError:
        return load_audio(path, max_seconds=max_seconds, name=path.name)  # says what is wrong with it
    key = (str(path), stat.st_mtime_ns, stat.st_size, float(max_seconds))
    with _SOUNDS_LOCK:
        if key in _SOUNDS:
            _SOUNDS.move_to_end(key)
            return _SOUNDS[key]
    clip = load_audio(path, max_seconds=max_seconds, name=path.name)
    with _SOUNDS_LOCK:
        _SOUNDS[key] = clip
        while len(_SOUNDS) > SOUND_CACHE_SIZE:
            _SOUNDS.popitem(last=False)
    return clip


def waveform_view(audio, volume_db: float, max_seconds: float = LIMITS["audio_seconds"]):
    """A peak envelope of the sound after the gain, with how many samples go beyond full scale."""
    if audio is None:
        return None, ""
    try:
        clip = load_sound(audio, max_seconds)
        scaled, report = apply_gain(clip.waveform, float(volume_db))
    except Exception as err:  # noqa: BLE001 - the preview says what is wrong; the server keeps running
        return None, f"⚠️ {_error(err, audio).message}"
    bins = np.array_split(np.abs(scaled), min(200, len(scaled)))
    frame = pd.DataFrame({"seconds": np.linspace(0, clip.seconds, len(bins)), "peak": [b.max() for b in bins]})
    text = f"gain {report.gain_db:+.0f} dB = ×{report.gain:.2f}, peak {report.peak_out:.2f}"
    if report.exceeds_full_scale:
        text = f"⚠️ **clips**: {report.samples_over_full_scale} samples beyond full scale (±1) — " + text
    return frame, text + "".join(f"\n- {n}" for n in clip.notes)


def _number_or(value, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except (TypeError, ValueError):
        return default


def _within_one_gpu_call(handler, seconds):
    """The streaming handler, refusing first (on ZeroGPU) a request whose declared GPU time is beyond one call."""

    @functools.wraps(handler)
    def run(*args):
        need = seconds(*args)
        if on_zero_gpu() and need > ZEROGPU_MAX_SECONDS:
            raise gr.Error(
                f"This request is estimated at {need} s of GPU time; a ZeroGPU call may last {ZEROGPU_MAX_SECONDS} s. "
                "Lower the steps, the size or the cutouts (or the number of volumes)."
            )
        yield from handler(*args)

    return run


def _generation_seconds(audio, volume_db, steps, seed, size, lr, cutn, init, prompts=""):
    """Declared GPU seconds of one Generate request (same arguments as the handler, as `spaces.GPU` wants)."""
    return generation_seconds(_number_or(steps, 1), _number_or(size, 256), _number_or(cutn, 8))


def _study_seconds(audio, volumes_text, steps, seed, size, cutn):
    """Declared GPU seconds of one Volume-study request: one image per volume."""
    images = max(1, len(str(volumes_text or "").replace(",", " ").split()))
    return generation_seconds(_number_or(steps, 1), _number_or(size, 256), _number_or(cutn, 8), images)


DISPLAY_SIDE = 256  # small generated pictures are shown at least this large, enlarged without blur


def enlarged(image: Image.Image) -> Image.Image:
    """The picture enlarged by a whole factor with nearest-neighbour, so a 64 px result is seen as it is."""
    factor = max(1, DISPLAY_SIDE // max(image.size))
    return image if factor == 1 else image.resize((image.width * factor, image.height * factor), Image.NEAREST)


def build_app(pipe: WavBriVLPipeline) -> gr.Blocks:
    """The Blocks UI; every handler calls the pipeline and turns user errors into gr.Error."""
    defaults = pipe.generation_config()
    gallery_files = sorted(str(p) for p in (EXAMPLES / "gallery").glob("*.png"))
    example_sounds = sorted(str(p) for p in EXAMPLES.glob("*.wav"))

    max_seconds = min(LIMITS["audio_seconds"], pipe.max_audio_seconds)
    # One GPU is one resource: with one, every handler that runs the model takes turns (rankings, classifications
    # and generations cannot run it out of memory together). On the CPU only the long generations take turns.
    on_gpu = torch.cuda.is_available() or pipe.device.type != "cpu"
    model_lane = GPU_LANE if on_gpu else {}

    def level_view(audio, volume_db):
        return waveform_view(audio, volume_db, max_seconds)

    def _embed_sound(audio, volumes):
        """Embed the sound, telling the user about resampling, cropping, silence and clipping."""
        embedded = pipe.embed_audio(load_sound(audio, max_seconds), volumes)
        for note in embedded.notes:
            gr.Warning(note)
        return embedded

    @gpu(SHORT_CALL_SECONDS)
    def rank(audio, files, use_examples, volume_db, text_query=""):
        text_query = str(text_query or "").strip()
        if not text_query:
            _need_audio(audio)
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
                result = pipe.rank(_embed_sound(audio, float(volume_db)), embeds)
        except Exception as err:  # noqa: BLE001 - shown to the user, the server keeps running
            raise _error(err, audio, *paths) from None
        ranked = result.ranked(0)
        gallery = [(paths[i], f"#{r + 1}  {s:+.3f}") for r, (i, s) in enumerate(ranked)]
        bars = pd.DataFrame(
            {
                "image": [f"#{r + 1} {Path(paths[i]).stem}" for r, (i, _) in enumerate(ranked)],
                "score": [s for _, s in ranked],
            }
        )
        return gallery, bars

    @gpu(_generation_seconds)
    def generate(audio, volume_db, steps, seed, size, lr, cutn, init, prompts=""):
        prompts = str(prompts or "").strip()
        if not prompts:
            _need_audio(audio)
        seed = resolve_seed(seed)
        lr = float(lr) if lr is not None else None
        config = pipe.generation_config(steps=int(steps), size=int(size), lr=lr, cutn=int(cutn), seed=seed)
        every = max(1, int(steps) // 10)
        strip, curve = [], []
        try:
            sound = _embed_sound(audio, float(volume_db)) if audio is not None else None
            for step in pipe.generate(sound, config=config, init_image=init, prompts=prompts or None):
                image = enlarged(step.images[0])
                curve.append({"step": step.step, "similarity": step.similarity[0]})
                if step.final or step.step % every == 0:
                    strip.append((image, "final" if step.final else f"step {step.step}"))
                label = "final" if step.final else f"step {step.step + 1}/{step.total}"
                yield image, strip, pd.DataFrame(curve), f"seed {seed} — {label}, similarity {step.similarity[0]:+.4f}"
        except Exception as err:  # noqa: BLE001
            raise _error(err, audio) from None

    @gpu(SHORT_CALL_SECONDS)
    def classify(audio, volume_db, classes_text, templates_text):
        _need_audio(audio)
        names = [c.strip() for c in str(classes_text or "").replace("\n", ",").split(",") if c.strip()]
        templates = [t.strip() for t in str(templates_text or "").split("|") if t.strip()] or ["{}"]
        if not names:
            raise gr.Error("Give at least one class name (comma-separated).")
        if len(names) > LIMITS["classes"]:
            raise gr.Error(f"At most {LIMITS['classes']} class names per request; got {len(names)}.")
        try:
            result = pipe.zero_shot(_embed_sound(audio, float(volume_db)), names, templates)
        except Exception as err:  # noqa: BLE001
            raise _error(err, audio) from None
        top = result.top(0, len(names))
        frame = pd.DataFrame({"class": [n for n, _ in top], "score": [s for _, s in top]})
        prompts = ", ".join(f"'{p}'" for p in class_prompts([top[0][0]], templates)[0])
        return frame, f"Best match: **{top[0][0]}** ({top[0][1]:+.3f}); prompts: {prompts}"

    @gpu(_study_seconds)
    def volume_study(audio, volumes_text, steps, seed, size, cutn):
        _need_audio(audio)
        texts = str(volumes_text or "").replace(",", " ").split()
        if not 1 <= len(texts) <= LIMITS["volumes"]:
            raise gr.Error(f"Give 1 to {LIMITS['volumes']} volumes, e.g. '-12 -6 0 6 12'; got {len(texts)}.")
        try:
            volumes = [parse_volume(v) for v in texts]
        except WavBriVLError as err:
            raise _error(err) from None
        seed = resolve_seed(seed)
        config = pipe.generation_config(steps=int(steps), size=int(size), cutn=int(cutn), seed=seed)
        try:
            embedded = _embed_sound(audio, volumes)
            cos = (embedded.embeddings @ embedded.embeddings.T).numpy()
            header = "| cosine | " + " | ".join(f"{v:+g} dB" for v in volumes) + " |\n|---|" + "---|" * len(volumes)
            rows = [f"| {v:+g} dB | " + " | ".join(f"{c:.3f}" for c in row) + " |" for v, row in zip(volumes, cos)]
            table = "\n".join([header, *rows])
            for step in pipe.generate(embedded, config=config):
                labels = [f"{v:+g} dB (×{db_to_gain(v):.2f}) sim {s:+.3f}" for v, s in zip(volumes, step.similarity)]
                label = "final" if step.final else f"step {step.step + 1}/{step.total}"
                yield [(enlarged(im), text) for im, text in zip(step.images, labels)], f"seed {seed} — {label}", table
        except Exception as err:  # noqa: BLE001
            raise _error(err, audio) from None

    with gr.Blocks(title="WavBriVL") as demo:
        gr.Markdown("# WavBriVL — sound to image\n" + _banner(pipe))
        with gr.Row():
            with gr.Column(scale=2):
                # filepath, no format: Gradio hands over the file untouched (its own decoding needs ffprobe)
                audio = gr.Audio(
                    sources=["upload", "microphone"], type="filepath", format=None, label="Sound", elem_id="sound"
                )
                _guard(audio)
                # The Sound box's own upload takes only audio/* types; browsers call webm and mp4 files video/*,
                # so those (and videos' sound tracks) come in through this button, into the same Sound box.
                other = gr.UploadButton(
                    "Upload a video or a webm / mp4 / m4a sound",
                    file_types=sorted(CONTAINER_UPLOADS),
                    size="sm",
                    elem_id="sound-file",
                )
                other.upload(lambda file: file, other, audio, api_name=False, queue=False)
                if example_sounds:
                    gr.Examples(example_sounds, inputs=audio, label="Example sounds")
            with gr.Column(scale=1):
                volume = _guard(gr.Slider(-24, 24, value=0, step=1, label="Volume (dB)"), _check_number)
                level_text = gr.Markdown()
                level_plot = gr.LinePlot(
                    x="seconds", y="peak", label="Peak after gain (1.0 = full scale)", y_lim=[0, 2], height=160
                )
        for trigger in (audio.change, volume.change):
            trigger(level_view, [audio, volume], [level_plot, level_text], show_progress="hidden", queue=False)
        with gr.Tab("Rank"):
            with gr.Row():
                files = _guard(gr.File(file_count="multiple", file_types=["image"], label="Images"), _check_image_files)
                use_examples = gr.Checkbox(value=bool(gallery_files), label="Include the example gallery")
            text_query = gr.Textbox(
                "",
                label="…or rank by a text instead of the sound (text tower)",
                placeholder="a large yellow triangle",
                interactive=pipe.text_tower is not None,
            )
            rank_btn = gr.Button("Rank images by the sound", variant="primary")
            ranked = gr.Gallery(label="Best match first", columns=6, height="auto")
            bars = gr.BarPlot(x="image", y="score", label="Scores", sort="-y", height=220)
            rank_btn.click(
                rank, [audio, files, use_examples, volume, text_query], [ranked, bars], api_name="rank", **model_lane
            )
        with gr.Tab("Generate"):
            with gr.Row():
                steps = gr.Slider(1, LIMITS["steps"], value=defaults.steps, step=1, label="Steps")
                seed = gr.Number(0, precision=0, minimum=-1, maximum=MAX_SEED, label="Seed (-1: random)")
                size = gr.Slider(16, LIMITS["size"], value=defaults.size, step=16, label="Size (px)")
                lr = gr.Number(defaults.lr, minimum=0, maximum=MAX_LR, label="Learning rate")
                cutn = gr.Slider(1, LIMITS["cutn"], value=defaults.cutn, step=1, label="Cutouts")
                for number in (steps, seed, size, lr, cutn):
                    _guard(number, _check_number)
            with gr.Row():
                init = _guard(gr.Image(type="pil", label="Init image (optional)", height=160), _check_image)
                prompts = gr.Textbox(
                    "",
                    label="Text prompts (optional): 'words:weight | words:-weight' — negative weights avoid",
                    placeholder="a large red circle:0.5 | blue triangle:-0.5",
                    lines=2,
                    interactive=pipe.text_tower is not None,
                )
            with gr.Row():
                go = gr.Button("Generate", variant="primary")
                stop = gr.Button("Stop")
            with gr.Row():
                current = gr.Image(label="Current step", format="png", height=256)
                curve = gr.LinePlot(
                    x="step", y="similarity", label="Similarity to the sound (or the first prompt)", height=256
                )
            strip = gr.Gallery(label="Every k-th step", columns=8, height="auto", format="png")
            status = gr.Markdown()
            job = go.click(
                _within_one_gpu_call(generate, _generation_seconds),
                [audio, volume, steps, seed, size, lr, cutn, init, prompts],
                [current, strip, curve, status],
                api_name="generate",
                **GPU_LANE,
            )
            stop.click(None, None, None, cancels=[job])
        with gr.Tab("Volume study"):
            volumes = gr.Textbox("-12 -6 0 6 12", label="Volumes (dB, or factors like 0.5x)")
            vsteps = _guard(gr.Slider(1, LIMITS["steps"], value=defaults.steps, step=1, label="Steps"), _check_number)
            with gr.Row():
                vgo = gr.Button("Generate side by side (one batch, one seed)", variant="primary")
                vstop = gr.Button("Stop")
            side = gr.Gallery(label="One image per volume", columns=6, height="auto", format="png")
            vstatus = gr.Markdown()
            cos_table = gr.Markdown()
            vjob = vgo.click(
                _within_one_gpu_call(volume_study, _study_seconds),
                [audio, volumes, vsteps, seed, size, cutn],
                [side, vstatus, cos_table],
                api_name="volume_study",
                **GPU_LANE,
            )
            vstop.click(None, None, None, cancels=[vjob])
        with gr.Tab("Classify"):
            gr.Markdown(
                "Zero-shot: the sound is compared with each class name through the text tower (no training)."
                if pipe.text_tower is not None
                else "⚠️ This model set has no text tower, so zero-shot classification is unavailable."
            )
            default_classes = ", ".join(pipe.class_names or DEFAULT_CLASSES)
            classes = gr.Textbox(default_classes, label="Class names (comma-separated)", lines=2)
            templates = gr.Textbox("{} | the sound of {}", label="Prompt templates ('|'-separated, {} = class name)")
            cgo = gr.Button("Classify the sound", variant="primary", interactive=pipe.text_tower is not None)
            cbars = gr.BarPlot(x="class", y="score", label="Similarity per class", sort="-y", height=240)
            cbest = gr.Markdown()
            cgo.click(classify, [audio, volume, classes, templates], [cbars, cbest], api_name="classify", **model_lane)
        with gr.Tab("Model"):
            gr.JSON(pipe.info(), label="Loaded weights")
    return demo


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
    demo = build_app(load_pipeline(choice))
    demo.queue(default_concurrency_limit=4, max_size=64).launch(server_name=args.host, server_port=args.port)


if __name__ == "__main__":
    main()
