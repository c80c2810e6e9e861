"""Miniature copies of the benchmarks' official layouts, filled with the toy world's sounds and pictures."""

from __future__ import annotations

import csv
import fractions
import string
from pathlib import Path

import av
import numpy as np
import soundfile as sf
from av.audio.stream import AudioStream
from av.container import OutputContainer
from av.video.stream import VideoStream
from PIL import Image

from wavbrivl.toyworld.world import CLASSES, LEVEL_RANGE_DB, SAMPLE_RATE, ToyWorld, synth_sound

TOY_TO_DESED = {
    "red circle": "Alarm_bell_ringing",
    "red cross": "Blender",
    "blue triangle": "Cat",
    "blue circle": "Dishes",
    "green cross": "Dog",
    "green bar": "Electric_shaver_toothbrush",
    "yellow bar": "Frying",
    "yellow triangle": "Running_water",
}
ESC50_HEADER = ["filename", "fold", "target", "category", "esc10", "src_file", "take"]
US8K_HEADER = ["slice_file_name", "fsID", "start", "end", "salience", "fold", "classID", "class"]
YTID_ALPHABET = string.ascii_letters + string.digits + "-_"
NOISE_FLOOR_DB = -60.0
VIDEO_FPS = 8


def underscored(label: int) -> str:
    """A toy class name with spaces replaced by underscores (e.g. red_circle)."""
    return CLASSES[label].name.replace(" ", "_")


def _write_csv(path: Path, rows: list[list[object]], delimiter: str = ",") -> None:
    """Write rows (the first is the header, if any) as a csv/tsv file, creating its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, delimiter=delimiter, lineterminator="\n").writerows(rows)


def _write_wav(path: Path, audio: np.ndarray) -> None:
    """Write a 16 kHz mono wav, creating its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, audio, SAMPLE_RATE)


def make_esc50(root: Path, per_fold_per_class: int = 2, seed: int = 0) -> Path:
    """ESC-50 layout: meta/esc50.csv and audio/{fold}-{n}-A-{target}.wav, 5 folds of the 8 toy classes."""
    root, world, rows = Path(root), ToyWorld(seed), [ESC50_HEADER]
    n = 0
    for fold in range(1, 6):
        for target in range(len(CLASSES)):
            for _ in range(per_fold_per_class):
                n += 1
                name = f"{fold}-{100000 + n}-A-{target}.wav"
                _write_wav(root / "audio" / name, world.example(n, label=target).audio)
                rows.append([name, fold, target, underscored(target), False, 100000 + n, "A"])
    _write_csv(root / "meta" / "esc50.csv", rows)
    return root


def make_us8k(root: Path, per_fold_per_class: int = 1, seed: int = 0) -> Path:
    """UrbanSound8K layout: metadata/UrbanSound8K.csv and audio/fold1..fold10, the 8 toy classes."""
    root, world, rows = Path(root), ToyWorld(seed), [US8K_HEADER]
    n = 0
    for fold in range(1, 11):
        for class_id in range(len(CLASSES)):
            for slice_id in range(per_fold_per_class):
                n += 1
                fs_id = 1000 + n
                name = f"{fs_id}-{class_id}-0-{slice_id}.wav"
                _write_wav(root / "audio" / f"fold{fold}" / name, world.example(n, label=class_id).audio)
                rows.append([name, fs_id, 0.0, 1.0, 1, fold, class_id, underscored(class_id)])
    _write_csv(root / "metadata" / "UrbanSound8K.csv", rows)
    return root


def _ytid(rng: np.random.Generator) -> str:
    """A random-looking 11-character YouTube id."""
    return "".join(YTID_ALPHABET[i] for i in rng.integers(len(YTID_ALPHABET), size=11))


def _encode_frames(out: OutputContainer, stream: VideoStream, image: Image.Image, seconds: float) -> None:
    """Encode a still picture as the video track."""
    pixels = np.asarray(image.convert("RGB").resize((stream.width, stream.height)), dtype=np.uint8)
    for _ in range(max(round(seconds * VIDEO_FPS), 1)):
        for packet in stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
            out.mux(packet)
    for packet in stream.encode():
        out.mux(packet)


def encode_sound(out: OutputContainer, stream: AudioStream, audio: np.ndarray) -> None:
    """Encode a 16 kHz mono float sound as the audio track."""
    step = 1024
    for start in range(0, len(audio), step):
        chunk = np.ascontiguousarray(audio[None, start : start + step], dtype=np.float32)
        frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = SAMPLE_RATE, start, fractions.Fraction(1, SAMPLE_RATE)
        for packet in stream.encode(frame):
            out.mux(packet)
    for packet in stream.encode():
        out.mux(packet)


def write_toy_video(path: Path, image: Image.Image, audio: np.ndarray) -> Path:
    """A short mp4 (mpeg4 64x64 yuv420p + aac) showing the picture while playing the sound."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as out:
        video = out.add_stream("mpeg4", rate=VIDEO_FPS)
        video.width, video.height, video.pix_fmt = 64, 64, "yuv420p"
        sound = out.add_stream("aac", rate=SAMPLE_RATE, layout="mono")
        encode_sound(out, sound, audio)
        _encode_frames(out, video, image, len(audio) / SAMPLE_RATE)
    return path


def make_vggsound(
    root: Path, train_per_class: int = 4, test_per_class: int = 2, seed: int = 0, videos: bool = True
) -> Path:
    """VGGSound layout: a header-less vggsound.csv and video/{ytid}_{start:06d}.mp4 (or audio/*.wav) clips."""
    root, world = Path(root), ToyWorld(seed)
    rng = np.random.default_rng([seed, 7])
    rows: list[list[object]] = []
    n = 0
    for split, count in (("train", train_per_class), ("test", test_per_class)):
        for label in range(len(CLASSES)):
            for _ in range(count):
                n += 1
                ytid, start = _ytid(rng), int(rng.integers(0, 300))
                example = world.example(n, label=label)
                stem = f"{ytid}_{start:06d}"
                if videos:
                    write_toy_video(root / "video" / f"{stem}.mp4", example.image, example.audio)
                else:
                    _write_wav(root / "audio" / f"{stem}.wav", example.audio)
                rows.append([ytid, start, CLASSES[label].name, split])
    _write_csv(root / "vggsound.csv", rows)
    return root


def _place_events(rng: np.random.Generator, seconds: int) -> list[tuple[int, int]]:
    """1-3 non-overlapping (onset, duration) pairs at whole seconds, each 1 or 2 s long, sorted by onset."""
    wanted = int(rng.integers(1, 4))
    taken = np.zeros(seconds, bool)
    placed: list[tuple[int, int]] = []
    for duration in rng.integers(1, 3, size=wanted):
        free = [s for s in range(seconds - int(duration) + 1) if not taken[s : s + int(duration)].any()]
        if free:
            onset = int(rng.choice(free))
            taken[onset : onset + int(duration)] = True
            placed.append((onset, int(duration)))
    return sorted(placed)


def _desed_clip(rng: np.random.Generator, seconds: int, silent: bool) -> tuple[np.ndarray, list[list[object]]]:
    """A clip on a quiet noise floor with toy-sound events, and its (onset, offset, label) rows."""
    audio = rng.normal(0, 10 ** (NOISE_FLOOR_DB / 20), seconds * SAMPLE_RATE).astype(np.float32)
    events: list[list[object]] = []
    for onset, duration in [] if silent else _place_events(rng, seconds):
        toy = CLASSES[int(rng.integers(len(CLASSES)))]
        sound = synth_sound(toy, float(rng.uniform(*LEVEL_RANGE_DB)), rng, duration)
        audio[onset * SAMPLE_RATE : (onset + duration) * SAMPLE_RATE] += sound
        events.append([f"{onset:.3f}", f"{onset + duration:.3f}", TOY_TO_DESED[toy.name]])
    return audio, events


def make_desed(root: Path, files: int = 24, seconds: int = 6, seed: int = 0) -> Path:
    """DESED layout: metadata/validation/validation.tsv (strong labels) and audio/validation/*.wav."""
    root = Path(root)
    rng = np.random.default_rng([seed, 11])
    rows: list[list[object]] = [["filename", "onset", "offset", "event_label"]]
    for index in range(files):
        name = f"Y{_ytid(rng)}_{10 * index}.000_{10 * index + seconds}.000.wav"
        audio, events = _desed_clip(rng, seconds, silent=index % 8 == 7)
        _write_wav(root / "audio" / "validation" / name, audio)
        rows.extend([[name, *event] for event in events] or [[name, "", "", ""]])
    _write_csv(root / "metadata" / "validation" / "validation.tsv", rows, delimiter="\t")
    return root


def toy_captions(label: int, level_db: float, rng: np.random.Generator) -> list[str]:
    """Five captions naming the toy class (loud or quiet by level), in a random order."""
    name = CLASSES[label].name
    loudness = "loud" if level_db > sum(LEVEL_RANGE_DB) / 2 else "quiet"
    captions = [
        f"a {name}",
        f"the sound of a {name}",
        f"a {loudness} {name}",
        f"a {name} is playing",
        f"something like a {name}",
    ]
    return [captions[i] for i in rng.permutation(len(captions))]


def make_clotho(root: Path, clips: int = 24, seed: int = 0, split: str = "evaluation") -> Path:
    """Clotho layout: clotho_captions_<split>.csv and <split>/*.wav, 3 s clips of one toy class each."""
    root, world = Path(root), ToyWorld(seed, seconds=3.0)
    rng = np.random.default_rng([seed, 13])
    rows: list[list[object]] = [["file_name"] + [f"caption_{k}" for k in range(1, 6)]]
    for index in range(clips):
        example = world.example(index, label=index % len(CLASSES))
        name = f"{CLASSES[example.label].name.title().replace(' ', '')} {index:03d}.wav"
        _write_wav(root / split / name, example.audio)
        rows.append([name, *toy_captions(example.label, example.level_db, rng)])
    _write_csv(root / f"clotho_captions_{split}.csv", rows)
    return root
