"""The toy set's decoder: trained on world pictures' VQGAN latents, conditioned on picture and sound embeddings."""

from __future__ import annotations

import numpy as np
import torch

from wavbrivl.data.audio import SAMPLE_RATE
from wavbrivl.models import EmbeddingDecoder
from wavbrivl.models.decoder import decoder_for
from wavbrivl.models.image_tower import pil_to_tensor
from wavbrivl.toyworld.world import LEVEL_RANGE_DB, ToyExample, ToyWorld
from wavbrivl.training.decoder import DecoderTrainConfig, code_indices, train_decoder
from wavbrivl.training.distill import DistillConfig, distill_decoder

DECODER_EXAMPLES_START = 2_000_000  # world indices of the decoder's pictures (apart from the towers' and held-out)
TAIL_DB = 6.0


def decoder_level(index: int, tail_share: float) -> float | None:
    """The loudness of the index-th decoder example: the world's own draw, or with probability tail_share one
    from the quietest or loudest TAIL_DB of its range (the smallest and largest shapes, where a volume study
    goes and the world's uniform draw rarely does)."""
    rng = np.random.default_rng([index, 29])
    if rng.random() >= tail_share:
        return None
    lo, hi = LEVEL_RANGE_DB
    return float(rng.uniform(lo, lo + TAIL_DB) if rng.random() < 0.5 else rng.uniform(hi - TAIL_DB, hi))


def decoder_examples(world: ToyWorld, start: int, stop: int, tail_share: float = 0.0) -> list[ToyExample]:
    """The decoder's world examples start..stop-1 (its own index range, each loudness from `decoder_level`)."""
    indices = range(DECODER_EXAMPLES_START + start, DECODER_EXAMPLES_START + stop)
    return [world.example(i, level_db=decoder_level(i, tail_share)) for i in indices]


@torch.no_grad()
def example_conditions(pipe, examples: list[ToyExample]) -> torch.Tensor:
    """Each example's conditions (N, 2, D): its picture's embedding and its sound's."""
    pixels = torch.stack(pil_to_tensor([e.image for e in examples]))
    pictures = pipe.image_tower.encode_pixels(pixels.to(pipe.device)).cpu()
    sounds = pipe.embed_audio([(SAMPLE_RATE, e.audio) for e in examples]).embeddings.cpu()
    return torch.stack([pictures, sounds], 1)


@torch.no_grad()
def decoder_data(
    pipe, world: ToyWorld, count: int, tail_share: float = 0.0, batch: int = 256
) -> tuple[torch.Tensor, torch.Tensor]:
    """VQGAN codes (N, h, w) of `count` world pictures and their conditions (N, 2, D): picture, paired sound."""
    tokens, conditions = [], []
    for start in range(0, count, batch):
        examples = decoder_examples(world, start, min(start + batch, count), tail_share)
        pixels = torch.stack(pil_to_tensor([e.image for e in examples]))
        tokens.append(code_indices(pipe.vqgan, pixels))
        conditions.append(example_conditions(pipe, examples))
    return torch.cat(tokens), torch.cat(conditions)


@torch.no_grad()
def decoder_conditions(pipe, world: ToyWorld, count: int, tail_share: float = 0.0, batch: int = 256) -> torch.Tensor:
    """The conditions (N, 2, D) of `count` of the decoder's world examples, without their codes."""
    parts = [
        example_conditions(pipe, decoder_examples(world, start, min(start + batch, count), tail_share))
        for start in range(0, count, batch)
    ]
    return torch.cat(parts)


def distill_toy_decoder(
    pipe, world: ToyWorld, examples: int, config: DistillConfig, tail_share: float = 0.0, log=print
) -> tuple[EmbeddingDecoder, list[dict]]:
    """Distil the set's decoder into a 1-2-step student on its own world examples' conditions, on one thread."""
    log(f"distillation conditions: {examples} world examples through both towers")
    conditions = decoder_conditions(pipe, world, examples, tail_share)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as for the decoder's own training: this small UNet is faster on one thread
    try:
        torch.manual_seed(config.seed)
        return distill_decoder(pipe.decoder, conditions, config, log=log)
    finally:
        torch.set_num_threads(threads)


def train_toy_decoder(
    pipe, world: ToyWorld, examples: int, config: DecoderTrainConfig, tail_share: float = 0.0, log=print
) -> tuple[EmbeddingDecoder, list[dict]]:
    """Build the data from the set's own VQGAN, image and audio towers, then train the decoder on one thread."""
    log(f"decoder data: {examples} world pictures through the VQGAN encoder and both towers")
    tokens, conditions = decoder_data(pipe, world, examples, tail_share)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # this small UNet runs several times faster per step on one thread than on two here
    try:
        torch.manual_seed(config.seed)
        decoder = decoder_for(pipe.vqgan, pipe.image_tower.embed_dim)
        return train_decoder(decoder, tokens, pipe.vqgan.codebook, conditions, config, log=log)
    finally:
        torch.set_num_threads(threads)
