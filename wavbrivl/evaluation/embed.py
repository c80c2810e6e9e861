"""Frozen-model embeddings of benchmark clips (whole clips, windows, video frames, captions), cached on disk."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from functools import cached_property
from pathlib import Path

import numpy as np
import torch

from wavbrivl.data.audio import SAMPLE_RATE, AudioClip, clip_window, load_audio, windows
from wavbrivl.data.video import (
    CONTAINER_AUDIO_SUFFIXES,
    VIDEO_SUFFIXES,
    extract_clip,
    read_audio_track,
)
from wavbrivl.distributed import init_distributed, merged
from wavbrivl.errors import InputError
from wavbrivl.evaluation.cache import EmbeddingStore, model_fingerprint
from wavbrivl.evaluation.datasets import ClipItem

Progress = Callable[[str, int, int], None]


def is_video(path: Path) -> bool:
    """Whether a media file is a video (then its middle frame can be used too)."""
    return path.suffix.lower() in VIDEO_SUFFIXES


def read_clip(item: ClipItem, seconds: float) -> AudioClip:
    """`seconds` of 16 kHz mono audio from the item's start: an audio file, or a video's sound track (no frames)."""
    if is_video(item.path) or item.path.suffix.lower() in CONTAINER_AUDIO_SUFFIXES:
        return AudioClip(read_audio_track(item.path, item.start, seconds), name=str(item.path))
    if item.start <= 0:
        return load_audio(item.path, max_seconds=seconds, name=str(item.path))
    clip = load_audio(item.path, name=str(item.path))
    return AudioClip(clip_window(clip.waveform, item.start, seconds)[1], name=clip.name, notes=clip.notes)


class Embedder:
    """Embeds a dataset's items with one pipeline, keeping every vector in a store under cache/dataset/model/."""

    def __init__(self, pipe, cache: str | Path, dataset: str, progress: Progress | None = None) -> None:
        self.pipe, self.progress = pipe, progress
        self.rank, self.world = init_distributed()  # under torchrun each rank embeds its share of every stage
        self.root = Path(cache) / dataset
        self.skipped: dict[str, str] = {}  # id -> why the clip could not be used
        self._stores: dict[Path, EmbeddingStore] = {}

    def _store(self, folder: Path | str) -> EmbeddingStore:
        """One store per folder for the Embedder's life (each is read from disk once)."""
        folder = Path(folder)
        if folder not in self._stores:
            self._stores[folder] = EmbeddingStore(folder, self.rank, self.world)
        return self._stores[folder]

    # Folders are named by a fingerprint of the weights, so a changed model never reads stale vectors;
    # each is computed on first use (hashing a full-size tower takes a few seconds).
    @cached_property
    def audio_dir(self) -> Path:
        """Where this audio tower's vectors live."""
        return self.root / f"audio-{model_fingerprint(self.pipe.audio_tower)}"

    @cached_property
    def image_dir(self) -> Path:
        """Where this image tower's vectors live."""
        return self.root / f"image-{model_fingerprint(self.pipe.image_tower)}"

    @cached_property
    def text_dir(self) -> Path:
        """Where this text tower's vectors live (its tokenizer's vocabulary is part of the fingerprint)."""
        tokenizer = getattr(self.pipe.text_tower, "tokenizer", None)
        vocab = sorted(tokenizer.get_vocab().items()) if tokenizer is not None else []
        vocab_hash = hashlib.sha256(repr(vocab).encode()).hexdigest()
        return self.root / f"text-{model_fingerprint(self.pipe.text_tower, extra={'vocab': vocab_hash})}"

    def _report(self, stage: str) -> Callable[[int, int], None] | None:
        return (lambda done, total: self.progress(stage, done, total)) if self.progress else None

    def _synced_skips(self) -> None:
        """Every rank's unreadable clips, known to all (after a stage every rank has finished)."""
        self.skipped = merged(self.skipped, self.world)

    def _readable(self, items: Sequence[ClipItem], load: Callable[[ClipItem], object]) -> dict[str, object]:
        loaded = {}
        for item in items:
            try:
                loaded[item.id] = load(item)
            except InputError as err:
                self.skipped[item.id] = str(err)
        return loaded

    def audio(self, items: Sequence[ClipItem], seconds: float) -> tuple[list[ClipItem], np.ndarray]:
        """Whole-clip audio embeddings (N, D) of the items that could be read, and those items."""
        store = self._store(f"{self.audio_dir}-{seconds:g}s")
        by_id = {item.id: item for item in items}

        def compute(ids: list[str]) -> np.ndarray:
            clips = self._readable([by_id[i] for i in ids], lambda it: read_clip(it, seconds))
            out = np.full((len(ids), self.pipe.audio_tower.embed_dim), np.nan, dtype=np.float32)
            if clips:
                rows = [ids.index(i) for i in clips]
                out[rows] = self.pipe.embed_audio(list(clips.values())).embeddings.numpy()
            return out

        vectors = store.fill([it.id for it in items], compute, progress=self._report("audio embeddings"))
        self._synced_skips()
        return _keep_finite(items, vectors)

    def windows(self, items: Sequence[ClipItem], window: float, seconds: float) -> dict[str, np.ndarray]:
        """Per item, the embeddings (W, D) of its consecutive windows of `window` seconds."""
        store = self._store(f"{self.audio_dir}-{seconds:g}s-windows-{window:g}s")
        report = self._report("window embeddings")
        mine = store.share([item for item in items if not store_keys(store, item.id)])
        for n, item in enumerate(mine):
            clips = self._readable([item], lambda it: read_clip(it, seconds))
            if clips:
                parts = windows(clips[item.id].waveform, window)  # type: ignore[attr-defined]
                keys = [f"{item.id}@{k:04d}" for k in range(len(parts))]
                store.add(keys, self.pipe.embed_audio([(SAMPLE_RATE, p) for p in parts]).embeddings.numpy())
            if report:
                report(n + 1, len(mine))
        store.sync()
        self._synced_skips()
        found = {item.id: store_keys(store, item.id) for item in items}
        return {item_id: store.get(keys) for item_id, keys in found.items() if keys}

    def audio_and_frames(
        self, items: Sequence[ClipItem], seconds: float
    ) -> tuple[list[ClipItem], np.ndarray, np.ndarray]:
        """Audio and middle-frame embeddings of video items (one decode per video)."""
        audio_store = self._store(f"{self.audio_dir}-{seconds:g}s")
        frame_store = self._store(f"{self.image_dir}-frames-{seconds:g}s")
        tower = self.pipe.image_tower
        by_id = {item.id: item for item in items}
        todo = audio_store.share([it.id for it in items if it.id not in frame_store or it.id not in audio_store])
        report = self._report("audio and frame embeddings")
        for start in range(0, len(todo), 16):
            ids = todo[start : start + 16]
            clips = self._readable([by_id[i] for i in ids], lambda it: extract_clip(it.path, seconds, it.start))
            new_audio = [k for k in clips if k not in audio_store]
            if new_audio:
                waves = [AudioClip(clips[k].audio) for k in new_audio]  # type: ignore[attr-defined]
                audio_store.add(new_audio, self.pipe.embed_audio(waves).embeddings.numpy())
            new_frames = [k for k in clips if k not in frame_store]
            if new_frames:
                pixels = tower.preprocess([clips[k].frame for k in new_frames])  # type: ignore[attr-defined]
                with torch.no_grad():
                    frames = tower.encode_pixels(pixels.to(self.pipe.device)).float().cpu().numpy()
                frame_store.add(new_frames, frames)
            if report:
                report(min(start + 16, len(todo)), len(todo))
        audio_store.sync()
        frame_store.reload()
        self._synced_skips()
        kept = [it for it in items if it.id in frame_store and it.id in audio_store]
        if not kept:
            return kept, np.zeros((0, 0), np.float32), np.zeros((0, 0), np.float32)
        ids = [it.id for it in kept]
        return kept, audio_store.get(ids), frame_store.get(ids)

    def texts(self, texts: Sequence[str]) -> np.ndarray:
        """Text-tower embeddings (N, D) of texts, cached by content."""
        store = self._store(self.text_dir)
        keys = [hashlib.sha256(t.encode()).hexdigest()[:24] for t in texts]
        lookup = dict(zip(keys, texts))
        with torch.no_grad():
            vectors = store.fill(
                keys,
                lambda ks: self.pipe.embed_text([lookup[k] for k in ks]).numpy(),
                chunk=256,
                progress=self._report("text embeddings"),
            )
        return vectors


def store_keys(store: EmbeddingStore, item_id: str) -> list[str]:
    """The window keys already stored for an item, in order."""
    keys, k = [], 0
    while f"{item_id}@{k:04d}" in store:
        keys.append(f"{item_id}@{k:04d}")
        k += 1
    return keys


def _keep_finite(items: Sequence[ClipItem], vectors: np.ndarray) -> tuple[list[ClipItem], np.ndarray]:
    ok = np.isfinite(vectors).all(1)
    return [it for it, good in zip(items, ok) if good], vectors[ok]
