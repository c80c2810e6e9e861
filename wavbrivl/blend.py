"""Blends: pictures along the spherical interpolation (slerp) of two embeddings, one seed for every picture.

The two ends are a sound and another sound, a text (the text tower) or a picture (the image tower): all live in
the image tower's space. Each picture is its own generation request drawn toward one point of the great circle
between the two unit embeddings, with the same seed, so the start noise is the same and only the target moves.
`embedding_request` builds such a request from given embeddings (no sound or text is read again).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from PIL import Image

from wavbrivl.data.audio import AudioSource
from wavbrivl.data.image import ImageSource
from wavbrivl.errors import InputError
from wavbrivl.generation.config import GenerationConfig, GenerationStep
from wavbrivl.generation.prompts import Prompt
from wavbrivl.generation.request import GenerationRequest

if TYPE_CHECKING:
    from wavbrivl.pipeline import WavBriVLPipeline

MAX_BLEND_PICTURES = 64
OPPOSITE_EPS = 1e-4  # ends this close to opposite (radians from pi) have no single great circle between them


@dataclass(frozen=True)
class Endpoint:
    """One end of a blend: its unit embedding (D,), what it is ('sound', 'text', 'image'), a label, notes."""

    embedding: torch.Tensor
    kind: str
    label: str
    notes: tuple[str, ...] = ()


@dataclass
class Blend:
    """A blend's pictures at positions t (0: end a, 1: end b), with the settings (seed resolved) they share."""

    positions: list[float]
    pictures: list[Image.Image]
    similarity: list[float]  # the image tower's cosine of each picture to its own target on the path
    ends: list[tuple[float, float]]  # the image tower's cosine of each picture to end a and to end b
    config: GenerationConfig

    def as_dict(self) -> dict:
        """The blend as JSON-ready facts (no pictures): seed, method, and per picture t and cosines."""
        rows = [{"t": t, "similarity": s, "similarity_to_a": a, "similarity_to_b": b}
                for t, s, (a, b) in zip(self.positions, self.similarity, self.ends)]  # fmt: skip
        return {"seed": self.config.seed, "method": self.config.method, "pictures": rows}


def sound_end(pipe: WavBriVLPipeline, audio: AudioSource, volume_db: float = 0.0) -> Endpoint:
    """A sound as a blend's end, embedded at volume_db (notes: a sound the set does not know first, then reading)."""
    embedded = pipe.embed_audio(audio, volume_db)
    novelty = pipe.novelty
    notes = [*(novelty.notes(embedded) if novelty is not None else []), *embedded.notes]
    return Endpoint(F.normalize(embedded.embeddings[0].float(), dim=-1), "sound", embedded.clips[0].name, tuple(notes))


def text_end(pipe: WavBriVLPipeline, text: str) -> Endpoint:
    """A text as a blend's end, through the set's text tower."""
    if not text or not text.strip():
        raise InputError("the blend's text is empty; give some words")
    return Endpoint(F.normalize(pipe.embed_text([text])[0].float(), dim=-1), "text", text.strip())


def image_end(pipe: WavBriVLPipeline, image: ImageSource, label: str | None = None) -> Endpoint:
    """A picture as a blend's end, through the frozen image tower."""
    if label is None:
        label = str(image) if isinstance(image, (str, os.PathLike)) else "image"
    return Endpoint(F.normalize(pipe.embed_images([image])[0].float(), dim=-1), "image", label)


def slerp(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    """The unit vector a fraction t of the way from a to b along their great circle (a and b are normalised)."""
    a, b = F.normalize(a.float(), dim=-1), F.normalize(b.float(), dim=-1)
    omega = float(torch.arccos((a * b).sum().clamp(-1.0, 1.0)))
    if omega < 1e-6:  # the same direction: any path is the point itself
        return a
    if math.pi - omega < OPPOSITE_EPS:
        raise InputError("the two ends point in opposite directions; no single path joins them")
    mixed = (math.sin((1 - t) * omega) * a + math.sin(t * omega) * b) / math.sin(omega)
    return F.normalize(mixed, dim=-1)


def blend_positions(count: int) -> list[float]:
    """count evenly spaced positions from 0 to 1, both ends included (2 to MAX_BLEND_PICTURES)."""
    if isinstance(count, bool) or not isinstance(count, int) or not 2 <= count <= MAX_BLEND_PICTURES:
        raise InputError(f"a blend needs a whole number of pictures from 2 to {MAX_BLEND_PICTURES}; got {count}")
    return [i / (count - 1) for i in range(count)]


def embedding_request(
    pipe: WavBriVLPipeline,
    targets: torch.Tensor,
    config: GenerationConfig | None = None,
    weights: torch.Tensor | None = None,
) -> GenerationRequest:
    """A checked GenerationRequest drawn toward given embeddings: targets (D,), (B, D) or (B, P, D), weights (P,).

    The settings are checked as `pipe.prepare` checks them (seed resolved); sounds were checked when embedded.
    """
    targets = targets.detach().float()
    targets = targets[None, None] if targets.dim() == 1 else targets[:, None] if targets.dim() == 2 else targets
    if targets.dim() != 3 or targets.shape[-1] != pipe.image_tower.embed_dim:
        raise InputError(f"targets must end in the embedding size {pipe.image_tower.embed_dim}; got "
                         f"{tuple(targets.shape)}")  # fmt: skip
    weights = torch.ones(targets.shape[1]) if weights is None else weights.detach().float().cpu()
    if weights.shape != (targets.shape[1],):
        raise InputError(f"{targets.shape[1]} targets per picture but {tuple(weights.shape)} weights")
    given = [Prompt("a given embedding", float(w)) for w in weights]  # checked as weighted targets
    checked = pipe.check_inputs(config, has_audio=False, prompts=given)
    return GenerationRequest(checked, targets.to(pipe.device), weights)


def _vector(end: Endpoint | torch.Tensor) -> torch.Tensor:
    """An end's unit embedding (D,)."""
    vector = end.embedding if isinstance(end, Endpoint) else end
    return F.normalize(vector.detach().float().cpu().reshape(-1), dim=-1)


def blend_picture(
    pipe: WavBriVLPipeline,
    a: Endpoint | torch.Tensor,
    b: Endpoint | torch.Tensor,
    t: float,
    config: GenerationConfig | None = None,
) -> GenerationStep:
    """The final step of the picture at one slider position t (0: end a, 1: end b)."""
    if not 0.0 <= float(t) <= 1.0:
        raise InputError(f"the blend position must be from 0 to 1; got {t}")
    request = embedding_request(pipe, slerp(_vector(a), _vector(b), float(t)), config)
    *_, last = pipe.generate(request)
    return last


def blend(
    pipe: WavBriVLPipeline,
    a: Endpoint | torch.Tensor,
    b: Endpoint | torch.Tensor,
    count: int = 8,
    config: GenerationConfig | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Blend:
    """count pictures along the slerp from a to b, each its own request with one seed (resolved once)."""
    positions = blend_positions(count)
    va, vb = _vector(a), _vector(b)
    slerp(va, vb, 0.5)  # refuses opposite ends before any picture is made
    config = embedding_request(pipe, va, config).config  # a random seed (-1) is drawn once, for every picture
    finals: list[GenerationStep] = []
    for done, t in enumerate(positions, 1):
        finals.append(blend_picture(pipe, va, vb, t, config))
        if progress is not None:
            progress(done, len(positions))
    pictures = [step.images[0] for step in finals]
    seen = F.normalize(pipe.embed_images(pictures).float(), dim=-1)
    ends = [(float(row @ va), float(row @ vb)) for row in seen]
    return Blend(positions, pictures, [step.similarity[0] for step in finals], ends, config)


def describe_ends(ends: Sequence[Endpoint]) -> list[dict]:
    """The ends as JSON-ready facts: kind and label."""
    return [{"kind": end.kind, "label": end.label} for end in ends]
