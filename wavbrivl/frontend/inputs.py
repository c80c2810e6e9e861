"""What the user gives the app, checked in the app's words: sounds (decoded once, previewed), images, numbers."""

from __future__ import annotations

import functools
import logging
import math
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np
import pandas as pd
import torch
from gradio_client.utils import is_valid_file

from wavbrivl import AudioClip, WavBriVLError, load_audio, load_image
from wavbrivl.data.image import IMAGE_SUFFIXES
from wavbrivl.data.video import CONTAINER_AUDIO_SUFFIXES, VIDEO_SUFFIXES
from wavbrivl.frontend.common import LIMITS
from wavbrivl.generation.checks import shown
from wavbrivl.lru import LRUCache
from wavbrivl.volume import apply_gain

log = logging.getLogger("wavbrivl.app")

CONTAINER_UPLOADS = VIDEO_SUFFIXES | CONTAINER_AUDIO_SUFFIXES | {".ogg", ".mp3"}


_SERVER_COPY = re.compile(r"[^\s'\"(]*/[0-9a-f]{32,}/")  # the folder of Gradio's copy of an upload


def _named(text: str, files=()) -> str:
    """The text with every upload's server path replaced by its file name (Gradio keeps the original name)."""
    for file in sorted({str(f) for f in files if isinstance(f, (str, os.PathLike))}, key=len, reverse=True):
        text = text.replace(file, Path(file).name)
    return _SERVER_COPY.sub("", text)


def user_error(err: Exception, *files) -> gr.Error:
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


def number_check(library: Callable[[Any], object] | None = None) -> Callable:
    """A number field's check for guarded: `library` (the setting's own check, e.g. SETTINGS["steps"].check) first,
    so its refusal reads as in Python and the CLI, then this app's narrower bounds (the component's own)."""
    return functools.partial(_check_number, library=library)


def _check_number(component, payload, library: Callable[[Any], object] | None = None):
    """A number from the UI or the API: the library's check first (its words, as in Python and the CLI), then this
    app's narrower bounds per request (the component's own), said as this app's limit."""
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
    if library is not None:
        try:
            library(payload if isinstance(payload, (int, float)) and not isinstance(payload, bool) else value)
        except WavBriVLError as err:
            raise gr.Error(str(err)) from None
    low, high = component.minimum, component.maximum
    if (low is not None and value < low) or (high is not None and value > high):
        bounds = f"from {shown(low)} to {shown(high)}" if low is not None and high is not None else ""
        given = shown(payload if isinstance(payload, int) and not isinstance(payload, bool) else value)
        raise gr.Error(f"{label}: {given} is beyond this app's limit per request; give a number {bounds}".rstrip())
    return value if isinstance(payload, str) else payload


def check_image_files(component, payload):
    """Uploads in the images box: each must be an image by its name (Gradio's own check names no file)."""
    for file in payload or []:
        if file.path and not is_valid_file(file.path, component.file_types):
            name = file.orig_name or Path(file.path).name
            raise gr.Error(f"{name}: not an image file; expected one of {', '.join(sorted(IMAGE_SUFFIXES))}")
    return payload


def check_image(component, payload):
    """An uploaded picture read by the project's loader first, so a bad one gets its message and its name."""
    if payload is not None and payload.path:
        try:
            load_image(payload.path, name=payload.orig_name or Path(payload.path).name)
        except WavBriVLError as err:
            raise user_error(err, payload.path) from None
    return payload


def guarded(component, check=None):
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


def need_audio(audio) -> None:
    """Refuse, in the page's words, a request that needs a sound and got none."""
    if audio is None:
        raise gr.Error("Record or upload a sound first (or pick an example below the recorder).")


SOUND_CACHE_SIZE = 8


_SOUNDS: LRUCache[AudioClip] = LRUCache(SOUND_CACHE_SIZE)  # the last few decoded uploads, for the level preview


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
    cached = _SOUNDS.get(key)
    if cached is not None:
        return cached
    return _SOUNDS.put(key, load_audio(path, max_seconds=max_seconds, name=path.name))


def waveform_view(audio, volume_db: float, max_seconds: float = LIMITS["audio_seconds"]):
    """A peak envelope of the sound after the gain, with how many samples go beyond full scale."""
    if audio is None:
        return None, ""
    try:
        clip = load_sound(audio, max_seconds)
        scaled, report = apply_gain(clip.waveform, float(volume_db))
    except Exception as err:  # noqa: BLE001 - the preview says what is wrong; the server keeps running
        return None, f"⚠️ {user_error(err, audio).message}"
    bins = np.array_split(np.abs(scaled), min(200, len(scaled)))
    frame = pd.DataFrame({"seconds": np.linspace(0, clip.seconds, len(bins)), "peak": [b.max() for b in bins]})
    text = f"gain {report.gain_db:+.0f} dB = ×{report.gain:.2f}, peak {report.peak_out:.2f}"
    if report.exceeds_full_scale:
        text = f"⚠️ **clips**: {report.samples_over_full_scale} samples beyond full scale (±1) — " + text
    return frame, text + "".join(f"\n- {n}" for n in clip.notes)
