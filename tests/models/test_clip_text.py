"""The clip preset's text tower: a transformers CLIP folder gives image and text towers in one space."""

from __future__ import annotations

import string

import torch
import torch.nn.functional as F
from transformers import CLIPConfig, CLIPModel, CLIPTokenizer, WavLMConfig, WavLMModel

from wavbrivl import WavBriVLPipeline
from wavbrivl.models import CLIPTextTower
from wavbrivl.testing import TINY_WAVLM


def tiny_clip_folder(path):
    """A whole tiny CLIPModel plus a character-level CLIP tokenizer, saved like a Hub CLIP repo."""
    torch.manual_seed(0)
    layers = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2}
    config = CLIPConfig(  # projection_dim in the sub-configs too, as the Hub's CLIP configs have it
        text_config={**layers, "vocab_size": 60, "max_position_embeddings": 40, "projection_dim": 24},
        vision_config={**layers, "image_size": 32, "patch_size": 8, "projection_dim": 24},
        projection_dim=24,
    )
    model = CLIPModel(config).eval()
    model.save_pretrained(path)
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for suffix in ("", "</w>"):
        for c in string.ascii_lowercase:
            vocab[c + suffix] = len(vocab)
    CLIPTokenizer(vocab=vocab, merges=[]).save_pretrained(path)
    return model


def test_clip_preset_has_a_text_tower_in_the_same_space(tmp_path):
    model = tiny_clip_folder(tmp_path / "clip")
    WavLMModel(WavLMConfig(**TINY_WAVLM)).save_pretrained(tmp_path / "wavlm")
    pipe = WavBriVLPipeline.from_preset(
        "clip", audio=str(tmp_path / "wavlm"), image=str(tmp_path / "clip"), load_generators=False, device="cpu"
    )
    assert isinstance(pipe.text_tower, CLIPTextTower) and pipe.info()["text"] == "available"
    texts = ["a red circle", "a dog"]
    ours = pipe.embed_text(texts)
    tokens = CLIPTokenizer.from_pretrained(tmp_path / "clip")(texts, padding=True, return_tensors="pt")
    with torch.no_grad():
        pooled = model.text_model(**tokens).pooler_output  # the end-of-text token's state
        reference = F.normalize(model.text_projection(pooled), dim=-1)
    torch.testing.assert_close(ours, reference, atol=1e-5, rtol=1e-5)
    pixels = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        images = pipe.image_tower.encode_pixels(pixels)
    assert pipe.rank_text("a dog", images).scores.shape == (1, 2)  # text and images: one 24-d space

    pipe.save_pretrained(tmp_path / "saved")
    again = WavBriVLPipeline.from_pretrained(tmp_path / "saved", device="cpu")
    torch.testing.assert_close(again.embed_text(texts), ours)
