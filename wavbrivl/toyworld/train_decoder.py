"""The toy set's decoder: trained on world pictures' VQGAN latents, conditioned on picture and sound embeddings."""

from __future__ import annotations

import torch

from wavbrivl.data.audio import SAMPLE_RATE
from wavbrivl.models import EmbeddingDecoder
from wavbrivl.models.image_tower import pil_to_tensor
from wavbrivl.toyworld.world import ToyWorld
from wavbrivl.training.decoder import DecoderTrainConfig, code_indices, decoder_for, train_decoder

DECODER_EXAMPLES_START = 2_000_000  # world indices of the decoder's pictures (apart from the towers' and held-out)


@torch.no_grad()
def decoder_data(pipe, world: ToyWorld, count: int, batch: int = 256) -> tuple[torch.Tensor, torch.Tensor]:
    """VQGAN codes (N, h, w) of `count` world pictures and their conditions (N, 2, D): picture, paired sound."""
    tokens, conditions = [], []
    for start in range(0, count, batch):
        examples = world.examples(DECODER_EXAMPLES_START + start, min(batch, count - start))
        pixels = torch.stack(pil_to_tensor([e.image for e in examples]))
        tokens.append(code_indices(pipe.vqgan, pixels))
        pictures = pipe.image_tower.encode_pixels(pixels.to(pipe.device)).cpu()
        sounds = pipe.embed_audio([(SAMPLE_RATE, e.audio) for e in examples]).embeddings.cpu()
        conditions.append(torch.stack([pictures, sounds], 1))
    return torch.cat(tokens), torch.cat(conditions)


def train_toy_decoder(
    pipe, world: ToyWorld, examples: int, config: DecoderTrainConfig, log=print
) -> tuple[EmbeddingDecoder, list[dict]]:
    """Build the data from the set's own VQGAN, image and audio towers, then train the decoder on one thread."""
    log(f"decoder data: {examples} world pictures through the VQGAN encoder and both towers")
    tokens, conditions = decoder_data(pipe, world, examples)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # this small UNet runs several times faster per step on one thread than on two here
    try:
        torch.manual_seed(config.seed)
        decoder = decoder_for(pipe.vqgan, pipe.image_tower.embed_dim)
        return train_decoder(decoder, tokens, pipe.vqgan.codebook, conditions, config, log=log)
    finally:
        torch.set_num_threads(threads)
