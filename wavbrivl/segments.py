"""Long sounds, segment by segment: one embedding per non-overlapping segment, a picture and gallery matches each.

A sound is cut into segments of a fixed length from its start. The last, shorter piece is kept as a segment of its
own when it holds at least half a segment, else dropped; a sound shorter than half a segment is one segment. Both
are said in the notes. Pieces are embedded as they are, never padded. Every segment's picture is its own request
with the same seed, so two segments that sound alike look alike.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from PIL import Image

from wavbrivl.blend import embedding_request
from wavbrivl.data.audio import SAMPLE_RATE, AudioClip, AudioSource, load_audio
from wavbrivl.errors import InputError
from wavbrivl.film import FRAME_BACKGROUND, compose_frame
from wavbrivl.generation.config import GenerationConfig

if TYPE_CHECKING:
    from wavbrivl.pipeline import WavBriVLPipeline

MIN_SEGMENT_SECONDS = 0.1
SHEET_HEIGHT = 128  # the contact sheet's pictures are this high
SHEET_GAP = 6


@dataclass
class Segments:
    """A sound cut into segments: their spans in seconds, their clips, one embedding each (S, D), and notes."""

    seconds: float
    spans: list[tuple[float, float]]
    clips: list[AudioClip]
    embeddings: torch.Tensor
    notes: list[str]

    def label(self, index: int) -> str:
        """A segment's span as text, e.g. '1.0-2.0 s'."""
        start, end = self.spans[index]
        return f"{start:.1f}-{end:.1f} s"


@dataclass
class SegmentRanking:
    """Segments x images cosines (S, N); per image its best segment and score; images by best score."""

    scores: torch.Tensor
    best_segment: list[int]
    best_score: list[float]
    order: list[int]


@dataclass
class SegmentStudy:
    """Per segment a picture and the gallery's best matches [(image index, score)], with the shared settings."""

    segments: Segments
    pictures: list[Image.Image]
    matches: list[list[tuple[int, float]]]
    config: GenerationConfig
    ranking: SegmentRanking | None = None


def split_sound(clip: AudioClip, seconds: float) -> tuple[list[AudioClip], list[tuple[float, float]], list[str]]:
    """The clip's non-overlapping segments of `seconds` (a last piece kept if at least half), spans and notes."""
    size = round(float(seconds) * SAMPLE_RATE)
    wave, total = clip.waveform, len(clip.waveform)
    pieces, notes = [], []
    for start in range(0, total, size):
        piece = wave[start : start + size]
        if len(piece) < size and pieces:
            if len(piece) * 2 >= size:
                notes.append(f"the last {len(piece) / SAMPLE_RATE:.2f} s are a shorter segment of their own "
                             f"(at least half of {seconds:g} s)")  # fmt: skip
            else:
                notes.append(
                    f"the last {len(piece) / SAMPLE_RATE:.2f} s were left out (less than half of {seconds:g} s)"
                )
                break
        pieces.append((start, piece))
    if total < size:
        notes.append(f"the sound ({total / SAMPLE_RATE:.2f} s) is shorter than a segment ({seconds:g} s): one segment")
    spans = [(start / SAMPLE_RATE, (start + len(piece)) / SAMPLE_RATE) for start, piece in pieces]
    clips = [AudioClip(piece.copy(), SAMPLE_RATE, f"{clip.name} @ {a:.2f}-{b:.2f} s")
             for (_, piece), (a, b) in zip(pieces, spans)]  # fmt: skip
    return clips, spans, notes


def embed_segments(
    pipe: WavBriVLPipeline, audio: AudioSource, seconds: float = 1.0, volume_db: float = 0.0
) -> Segments:
    """Read a sound (cut to the pipeline's longest) and embed each segment of `seconds` at volume_db."""
    pipe.check_sound()
    top = float(pipe.max_audio_seconds)
    if not MIN_SEGMENT_SECONDS <= float(seconds) <= top:
        raise InputError(f"the segment length must be from {MIN_SEGMENT_SECONDS:g} to {top:g} s; got {seconds}")
    clip = load_audio(audio, max_seconds=pipe.max_audio_seconds)
    clips, spans, notes = split_sound(clip, seconds)
    embedded = pipe.embed_audio(clips, volume_db)
    novelty = pipe.novelty  # segments the set does not know are said first
    unknown = novelty.notes(embedded) if novelty is not None else []
    own = [f"{clip.name}: {note}" for note in clip.notes]
    return Segments(float(seconds), spans, clips, embedded.embeddings, [*unknown, *own, *notes, *embedded.notes])


def rank_by_segments(segment_embeddings: torch.Tensor, image_embeddings: torch.Tensor) -> SegmentRanking:
    """Which segment matches each image best, and the images ordered by that best cosine."""
    scores = F.normalize(segment_embeddings.float(), dim=-1) @ F.normalize(image_embeddings.float(), dim=-1).T
    best, where = scores.max(dim=0)
    order = torch.argsort(best, descending=True, stable=True)
    return SegmentRanking(scores, where.tolist(), best.tolist(), order.tolist())


def segment_pictures(
    pipe: WavBriVLPipeline,
    segments: Segments,
    config: GenerationConfig | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[list[Image.Image], GenerationConfig]:
    """One picture per segment, each its own request with one seed (resolved once); and the settings used."""
    config = embedding_request(pipe, segments.embeddings[0], config).config
    pictures = []
    for done, embedding in enumerate(segments.embeddings, 1):
        *_, last = pipe.generate(embedding_request(pipe, embedding, config))
        pictures.append(last.images[0])
        if progress is not None:
            progress(done, len(segments.embeddings))
    return pictures, config


def study_segments(
    pipe: WavBriVLPipeline,
    audio: AudioSource | Segments,
    seconds: float = 1.0,
    images: Sequence | torch.Tensor | None = None,
    top: int = 3,
    config: GenerationConfig | None = None,
    volume_db: float = 0.0,
) -> SegmentStudy:
    """Segments of a long sound (or ones embed_segments made), a picture each, and each segment's top gallery
    matches (images optional)."""
    segments = audio if isinstance(audio, Segments) else embed_segments(pipe, audio, seconds, volume_db)
    pictures, config = segment_pictures(pipe, segments, config)
    if images is None or len(images) == 0:
        return SegmentStudy(segments, pictures, [[] for _ in pictures], config)
    gallery = images if isinstance(images, torch.Tensor) else pipe.embed_images(list(images))
    ranking = rank_by_segments(segments.embeddings, gallery)
    return SegmentStudy(segments, pictures, top_matches(ranking, top), config, ranking)


def top_matches(ranking: SegmentRanking, top: int = 3) -> list[list[tuple[int, float]]]:
    """Per segment its `top` best images [(image index, cosine)], best first."""
    order = torch.argsort(ranking.scores, dim=1, descending=True, stable=True)[:, : max(top, 0)]
    return [[(int(i), float(ranking.scores[s, i])) for i in row] for s, row in enumerate(order)]


def _fit(picture: Image.Image, height: int) -> Image.Image:
    """The picture at exactly `height` pixels high, aspect kept: nearest neighbour up, Lanczos down."""
    width = max(1, round(picture.width * height / picture.height))
    sharp = Image.Resampling.NEAREST if picture.height < height else Image.Resampling.LANCZOS
    return picture.convert("RGB").resize((width, height), sharp)


def segment_sheet(
    study: SegmentStudy, gallery: Sequence[Image.Image] | None = None, names: Sequence[str] | None = None
) -> Image.Image:
    """A contact sheet: one row per segment with its time, its picture and its best gallery match (named)."""
    rows = []
    for index, picture in enumerate(study.pictures):
        tiles, labels = [_fit(picture, SHEET_HEIGHT)], [f"#{index} {study.segments.label(index)}"]
        if gallery is not None and study.matches[index]:
            best, score = study.matches[index][0]
            tiles.append(_fit(gallery[best], SHEET_HEIGHT))
            labels.append(f"{names[best] if names is not None else best}: {score:+.3f}")
        rows.append(compose_frame(tiles, labels, SHEET_HEIGHT))
    width = max(row.width for row in rows)
    height = sum(row.height for row in rows) + SHEET_GAP * (len(rows) - 1)
    sheet = Image.new("RGB", (width + width % 2, height + height % 2), FRAME_BACKGROUND)
    top = 0
    for row in rows:
        sheet.paste(row, (0, top))
        top += row.height + SHEET_GAP
    return sheet


def study_as_dict(study: SegmentStudy, names: Sequence[str] | None = None) -> dict:
    """The study as JSON-ready facts: per segment its span and matches; per image its best segment."""

    def name(index: int) -> object:
        return names[index] if names is not None else index

    segments = [
        {"index": i, "start": a, "end": b, "matches": [{"image": name(j), "score": s} for j, s in study.matches[i]]}
        for i, (a, b) in enumerate(study.segments.spans)
    ]
    facts = {"segment_seconds": study.segments.seconds, "seed": study.config.seed, "method": study.config.method,
             "notes": study.segments.notes, "segments": segments}  # fmt: skip
    if study.ranking is not None:
        facts["images"] = [ranked_image(study.ranking, study.segments, j, name(j)) for j in study.ranking.order]
    return facts


def ranked_image(ranking: SegmentRanking, segments: Segments, image: int, name: object) -> dict:
    """One image's line of a segment ranking: its best segment, that segment's span and the cosine."""
    best = ranking.best_segment[image]
    start, end = segments.spans[best]
    return {"image": name, "segment": best, "start": start, "end": end, "score": ranking.best_score[image]}
