"""BriVL text tower: official key layout (strict), tokenisation, BERT without a mask, saving with its tokenizer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from wavbrivl.configs import BriVLTextConfig
from wavbrivl.errors import InputError, WeightsError
from wavbrivl.loading.folders import load_component, save_component
from wavbrivl.loading.official import brivl_text_state, load_brivl_official_text
from wavbrivl.models import BriVLTextTower
from wavbrivl.toyworld.train_text import make_toy_tokenizer

# The textencoder.* part of ../shared/reference/brivl-1.0-learnable-keys.json (official keys and shapes).
KEYS_FILE = Path(__file__).resolve().parents[1] / "data" / "brivl-1.0-text-keys.json"
TINY_BERT = {
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 64,
    "max_position_embeddings": 40,
}


def tiny_tower(seed: int = 0, max_length: int = 24) -> BriVLTextTower:
    torch.manual_seed(seed)
    tokenizer = make_toy_tokenizer()
    config = BriVLTextConfig(
        bert={**TINY_BERT, "vocab_size": len(tokenizer)},
        max_length=max_length,
        num_layers=2,
        num_heads=4,
        ffn_dim=48,
        embed_dim=40,
    )
    tower = BriVLTextTower(config).eval()
    tower.tokenizer = tokenizer
    return tower


def random_official_text_checkpoint(seed: int = 0) -> dict:
    """Random tensors under exactly the official text keys and shapes (position_ids as transformers 4.5 saved it)."""
    gen = torch.Generator().manual_seed(seed)
    state = {}
    for key, shape in json.loads(KEYS_FILE.read_text()).items():
        if key.endswith("position_ids"):
            state[key] = torch.arange(shape[-1]).view(shape)
        else:
            state[key] = torch.randn(shape, generator=gen) * 0.02
    return {"learnable": state}


def test_official_text_checkpoint_loads_strictly_through_a_file(tmp_path):
    checkpoint = random_official_text_checkpoint()
    assert len(checkpoint["learnable"]) == 252
    path = tmp_path / "BriVL-1.0-5500w.pth"
    torch.save(checkpoint, path)
    tower = load_brivl_official_text(path, tokenizer=None)
    own = tower.state_dict()
    assert len(own) == 251  # the 252 official keys less embeddings.position_ids (non-persistent in transformers 5)
    for key, value in checkpoint["learnable"].items():
        if key.endswith("position_ids"):
            continue
        assert torch.equal(own[key.removeprefix("textencoder.")], value), key
    assert sum(p.numel() for p in tower.parameters()) == 130_094_848
    tower.tokenizer = make_toy_tokenizer()  # the real one is hfl/chinese-roberta-wwm-ext (not downloadable here)
    with torch.no_grad():
        out = tower.encode_text(["a red circle", "a very long caption " * 30])
    assert out.shape == (2, 2048)
    assert torch.allclose(out.norm(dim=-1), torch.ones(2), atol=1e-5)


def test_text_state_errors_name_the_problem():
    state = random_official_text_checkpoint()["learnable"]
    with pytest.raises(WeightsError, match="textencoder"):
        brivl_text_state({"learnable": {k: v for k, v in state.items() if not k.startswith("textencoder.")}})
    tower = BriVLTextTower(BriVLTextConfig(bert={**TINY_BERT, "vocab_size": 50}, num_heads=2, ffn_dim=16, embed_dim=8))
    from wavbrivl.loading.official import strict_load

    with pytest.raises(WeightsError) as mismatched:  # the 12-layer checkpoint against a 1-layer tower
        strict_load(tower, brivl_text_state({"learnable": state}), "official.pth")
    layer_10 = "backbone.bert.encoder.layer.10.attention.output"
    embeddings = "backbone.bert.embeddings"
    assert str(mismatched.value) == (
        "official.pth: keys do not match BriVLTextTower: 160 unexpected (e.g. "
        f"{layer_10}.LayerNorm.bias, {layer_10}.LayerNorm.weight, {layer_10}.dense.bias); 91 wrong shape (e.g. "
        f"{embeddings}.LayerNorm.bias, {embeddings}.LayerNorm.weight, {embeddings}.position_embeddings.weight)"
    )
    own = tower.state_dict()
    gone = sorted(own)[:4]
    with pytest.raises(WeightsError) as short:
        strict_load(tower, {k: v for k, v in own.items() if k not in gone}, "own.pth")
    assert str(short.value) == f"own.pth: keys do not match BriVLTextTower: 4 missing (e.g. {', '.join(gone[:3])})"


def test_tokenizer_pads_to_max_length_and_counts_cls_and_sep():
    tower = tiny_tower(max_length=24)
    ids, lengths = tower.tokenize(["red circle", "a large blue triangle", "word " * 100])
    assert ids.shape == (3, 24)
    assert lengths.tolist() == [4, 6, 24]  # [CLS] red circle [SEP]; truncated to max_length
    assert (ids[0, 4:] == 0).all()  # [PAD] = 0


def test_bert_sees_token_ids_only_and_head_masks_padding():
    tower = tiny_tower()
    ids, lengths = tower.tokenize(["a small red circle", "blue"])
    with torch.no_grad():
        out = tower(ids, lengths)
        # Reference composition: BERT without an attention mask (as BriVL calls it), per-token L2, masked SA + mean.
        hidden = F.normalize(tower.backbone.bert(input_ids=ids).last_hidden_state, dim=-1)
        valid = torch.arange(ids.shape[1])[None] < lengths[:, None]
        att = tower.learnable["textAtt"](hidden.transpose(0, 1), src_key_padding_mask=~valid).transpose(0, 1)
        pooled = torch.stack([att[b, : lengths[b]].mean(0) for b in range(2)])
        fc = tower.learnable["textFC"]
        expected = F.normalize(fc["fc2"](F.relu(fc["fc1"](pooled))), dim=-1)
        masked = tower.backbone.bert(input_ids=ids, attention_mask=valid.long()).last_hidden_state
    assert torch.allclose(out, expected, atol=1e-5)
    assert not torch.allclose(masked, tower.backbone.bert(input_ids=ids).last_hidden_state, atol=1e-4)


def test_embedding_does_not_depend_on_the_batch():
    tower = tiny_tower()
    with torch.no_grad():
        alone = tower.encode_text(["a red circle"])
        together = tower.encode_text(["a green square", "a red circle", "word " * 50])
    assert torch.allclose(alone[0], together[1], atol=1e-5)


def test_bad_text_and_missing_tokenizer_give_clear_errors():
    tower = tiny_tower()
    with pytest.raises(InputError, match="non-empty"):
        tower.encode_text(["ok", "  "])
    tower.tokenizer = None
    with pytest.raises(WeightsError, match="tokenizer"):
        tower.encode_text(["ok"])


def test_component_round_trip_keeps_the_tokenizer(tmp_path):
    tower = tiny_tower(seed=3)
    save_component(tower, tmp_path / "text_tower")
    assert (tmp_path / "text_tower" / "tokenizer").is_dir()
    loaded = load_component(tmp_path / "text_tower")
    with torch.no_grad():
        assert torch.allclose(tower.encode_text(["a cyan cross"]), loaded.encode_text(["a cyan cross"]), atol=1e-6)


def test_tokenizer_loads_from_a_bert_vocab_folder(tmp_path):
    """The hfl/chinese-roberta-wwm-ext layout: vocab.txt (one token per line), config.json, tokenizer config."""
    from wavbrivl.loading.folders import load_tokenizer

    folder = tmp_path / "chinese-roberta-wwm-ext"
    folder.mkdir()
    tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "狗", "叫", "dog"]
    (folder / "vocab.txt").write_text("\n".join(tokens) + "\n")
    # As on the Hub: a nearly empty tokenizer_config, the tokenizer class coming from config.json's model_type.
    (folder / "tokenizer_config.json").write_text(json.dumps({"init_inputs": []}))
    (folder / "config.json").write_text(json.dumps({"model_type": "bert", "vocab_size": len(tokens)}))
    tokenizer = load_tokenizer(folder)
    assert tokenizer(["狗叫", "DOG"])["input_ids"] == [[2, 5, 6, 3], [2, 7, 3]]
    with pytest.raises(WeightsError, match="tokenizer"):
        load_tokenizer(tmp_path / "nothing-here")


@pytest.mark.slow
def test_brivl_preset_takes_image_and_text_from_one_official_file(tmp_path, monkeypatch):
    """--preset brivl with the official .pth: both towers load strictly from it; the tokenizer from its folder."""
    from transformers import WavLMConfig, WavLMModel

    from tests.models.test_brivl_image import random_official_checkpoint
    from wavbrivl import WavBriVLPipeline
    from wavbrivl.testing import TINY_WAVLM

    checkpoint = random_official_checkpoint()
    checkpoint["learnable"].update(random_official_text_checkpoint(seed=1)["learnable"])
    torch.save(checkpoint, tmp_path / "BriVL-1.0-5500w.pth")
    del checkpoint
    make_toy_tokenizer(tmp_path / "tokenizer")
    WavLMModel(WavLMConfig(**TINY_WAVLM)).save_pretrained(tmp_path / "wavlm")
    monkeypatch.setenv("WAVBRIVL_TOKENIZER", str(tmp_path / "tokenizer"))
    monkeypatch.delenv("WAVBRIVL_TEXT", raising=False)
    pipe = WavBriVLPipeline.from_preset(
        "brivl",
        audio=str(tmp_path / "wavlm"),
        image=str(tmp_path / "BriVL-1.0-5500w.pth"),
        load_generators=False,
        device="cpu",
    )
    assert pipe.info()["text"] == "available"
    assert "official BriVL-1.0 text encoder" in pipe.provenance["text_tower"].note
    text = pipe.embed_text(["a red circle", "a blue triangle"])
    assert text.shape == (2, 2048)
    result = pipe.rank_text("a red circle", torch.nn.functional.normalize(torch.randn(3, 2048), dim=-1))
    assert result.scores.shape == (1, 3)
