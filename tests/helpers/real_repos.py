"""Tiny but faithful copies of the Hub repos the real presets name, for the stand-in Hub.

Each repo has the real id, the real file names and layout, and the files a careful loader must NOT fetch: every
weight format the real repo has (TensorFlow, Flax, a second PyTorch format, half-precision variants), the
EfficientNet init beside BriVL's checkpoint, chinese-roberta's own weights. Only the sizes are small: the towers are
the real architectures at test sizes (../shared/reference/weights.md lists the real repos).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from omegaconf import OmegaConf
from transformers import (
    BertConfig,
    BertTokenizer,
    CLIPConfig,
    CLIPImageProcessor,
    CLIPModel,
    CLIPTokenizer,
    Wav2Vec2FeatureExtractor,
    WavLMConfig,
    WavLMModel,
)

from tests.generation.test_unclip import DIM as UNCLIP_DIM
from tests.generation.test_unclip import tiny_unclip_folder
from tests.generation.test_vqgan_clip import TAMING_YAML, _fake_taming_ckpt
from tests.helpers.stand_in_hub import StandInHub
from wavbrivl.configs import BriVLImageConfig, BriVLTextConfig
from wavbrivl.loading.towers import random_components
from wavbrivl.models import BriVLImageTower, BriVLTextTower
from wavbrivl.testing import TINY_WAVLM

WAVLM = "microsoft/wavlm-base-plus"
BRIVL = "shunxing1234/BriVL"
ROBERTA = "hfl/chinese-roberta-wwm-ext"
CLIP_B32 = "openai/clip-vit-base-patch32"
CLIP_L14 = "openai/clip-vit-large-patch14"
VQGAN = "boris/vqgan_f16_16384"
UNCLIP = "stabilityai/stable-diffusion-2-1-unclip-small"
BRIVL_FOLDER = "BriVL-pretrain-model"  # the 2022 listing keeps the checkpoint here, beside an EfficientNet init
# A few words of BriVL's (Chinese) vocabulary: enough for the prompts the tests use.
CHINESE = list("红色的圆形蓝三角绿十字黄条狗叫声一张图片")
NEVER = b"these bytes must never be downloaded"


def _wavlm(folder: Path) -> None:
    """config.json, preprocessor_config.json and pytorch_model.bin (the repo's main branch has no safetensors)."""
    torch.manual_seed(1)
    config = WavLMConfig(**TINY_WAVLM)
    config.save_pretrained(folder)
    Wav2Vec2FeatureExtractor(sampling_rate=16000).save_pretrained(folder)
    torch.save(WavLMModel(config).state_dict(), folder / "pytorch_model.bin")


def _roberta(folder: Path) -> BertTokenizer:
    """chinese-roberta-wwm-ext: a WordPiece tokenizer, its config, and weights in three formats BriVL never reads."""
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *CHINESE, *"abcdefghijklmnopqrstuvwxyz"]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n")
    tokenizer = BertTokenizer(str(folder / "vocab.txt"))
    tokenizer.save_pretrained(folder)
    (folder / "tokenizer_config.json").write_text(json.dumps({"init_inputs": []}))  # as the real one: nearly empty
    (folder / "tokenizer.json").unlink(missing_ok=True)  # the repo has none: the slow files only
    special = {"unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]"}
    (folder / "special_tokens_map.json").write_text(json.dumps({**special, "mask_token": "[MASK]"}))
    (folder / "added_tokens.json").write_text("{}")
    BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=1, num_attention_heads=2).save_pretrained(
        folder
    )
    for name in ("pytorch_model.bin", "tf_model.h5", "flax_model.msgpack"):
        (folder / name).write_bytes(NEVER)
    return BertTokenizer.from_pretrained(folder)


def _brivl(folder: Path, vocab_size: int, embed_dim: int = 48) -> None:
    """BriVL-1.0-5500w.pth in the official layout ('learnable': image, text and their MoCo twins), tiny sizes."""
    torch.manual_seed(2)
    image = BriVLImageTower(BriVLImageConfig(backbone="test_efficientnet", image_size=96, hidden_dim=64, num_layers=1,
                                             num_heads=4, ffn_dim=64, embed_dim=embed_dim))  # fmt: skip
    bert = {"vocab_size": vocab_size, "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 1,
            "intermediate_size": 128, "max_position_embeddings": 128}  # fmt: skip
    text = BriVLTextTower(BriVLTextConfig(bert=bert, num_layers=1, num_heads=4, ffn_dim=64, embed_dim=embed_dim))
    learnable = {}
    for prefix, tower in (("imgencoder", image), ("imgencoder_mom", image), ("textencoder", text),
                          ("textencoder_mom", text)):  # fmt: skip
        learnable.update({f"{prefix}.{k}": v.clone() for k, v in tower.state_dict().items()})
    learnable["textencoder.backbone.bert.embeddings.position_ids"] = torch.arange(128)[None]  # transformers 4.5 kept it
    (folder / BRIVL_FOLDER).mkdir(parents=True, exist_ok=True)
    torch.save({"learnable": learnable}, folder / BRIVL_FOLDER / "BriVL-1.0-5500w.pth")
    (folder / BRIVL_FOLDER / "tf_efficientnet_b5_ns-6f26d0cf.pth").write_bytes(NEVER)  # a training-only init
    (folder / "README.md").write_text("# BriVL\n")


def _old_style_tokenizer_config(folder: Path) -> None:
    """Older CLIP and Stable Diffusion repos write special tokens as {"__type": "AddedToken", ...} objects."""
    path = folder / "tokenizer_config.json"
    config = json.loads(path.read_text())
    for key in ("bos_token", "eos_token", "unk_token", "pad_token"):
        if isinstance(config.get(key), str):
            config[key] = {"__type": "AddedToken", "content": config[key], "lstrip": False, "normalized": True,
                           "rstrip": False, "single_word": False}  # fmt: skip
    path.write_text(json.dumps(config))


def _clip(folder: Path, projection: int) -> None:
    """A CLIP repo: config, safetensors AND pytorch_model.bin AND TF AND Flax weights, tokenizer, preprocessor."""
    torch.manual_seed(3)
    layers = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2}
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for suffix in ("", "</w>"):
        for c in "abcdefghijklmnopqrstuvwxyz":
            vocab[c + suffix] = len(vocab)
    config = CLIPConfig(
        text_config={**layers, "vocab_size": len(vocab), "max_position_embeddings": 77, "projection_dim": projection},
        vision_config={**layers, "image_size": 32, "patch_size": 8, "projection_dim": projection},
        projection_dim=projection,
    )
    model = CLIPModel(config).eval()
    model.save_pretrained(folder)
    torch.save(model.state_dict(), folder / "pytorch_model.bin")
    for name in ("tf_model.h5", "flax_model.msgpack"):
        (folder / name).write_bytes(NEVER)
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    CLIPTokenizer(vocab_file=str(folder / "vocab.json"), merges_file=str(folder / "merges.txt")).save_pretrained(folder)
    special = {"bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>"}
    (folder / "special_tokens_map.json").write_text(json.dumps({**special, "pad_token": "<|endoftext|>"}))
    _old_style_tokenizer_config(folder)
    CLIPImageProcessor(size=32, crop_size=32).save_pretrained(folder)


def _vqgan(folder: Path) -> None:
    """boris/vqgan_f16_16384's layout: a taming Lightning model.ckpt with training state, and config.yaml."""
    _, _, vqgan = random_components(seed=4)
    checkpoint = _fake_taming_ckpt(vqgan)
    checkpoint["optimizer_states"] = [torch.optim.Adam(vqgan.parameters()).state_dict()]
    checkpoint["lr_schedulers"] = []
    checkpoint["hyper_parameters"] = OmegaConf.create(OmegaConf.to_container(OmegaConf.create(TAMING_YAML)))
    checkpoint["callbacks"] = {"ModelCheckpoint": {"best_model_score": torch.tensor(0.5), "monitor": "val/rec_loss"}}
    folder.mkdir(parents=True, exist_ok=True)
    torch.save(checkpoint, folder / "model.ckpt")
    (folder / "config.yaml").write_text(TAMING_YAML)


def _unclip(root: Path) -> Path:
    """The unclip-small pipeline folder, with a float16 text encoder config, half-precision variants and a .ckpt."""
    folder = tiny_unclip_folder(root)
    config = json.loads((folder / "text_encoder" / "config.json").read_text())
    config["torch_dtype"] = config["dtype"] = "float16"  # as a half-precision export says; the CPU needs float32
    (folder / "text_encoder" / "config.json").write_text(json.dumps(config))
    (folder / "unet" / "diffusion_pytorch_model.fp16.safetensors").write_bytes(NEVER)
    (folder / "sd21-unclip-s.ckpt").write_bytes(NEVER)
    return folder


def build_repos(root: Path) -> dict[str, Path]:
    """Every repo the brivl, clip and unclip presets name, as folders under root, by repo id."""
    folders = {repo: root / repo.replace("/", "--") for repo in (WAVLM, BRIVL, ROBERTA, CLIP_B32, CLIP_L14, VQGAN)}
    _wavlm(folders[WAVLM])
    tokenizer = _roberta(folders[ROBERTA])
    _brivl(folders[BRIVL], len(tokenizer))
    _clip(folders[CLIP_B32], projection=40)
    _clip(folders[CLIP_L14], projection=UNCLIP_DIM)
    _vqgan(folders[VQGAN])
    folders[UNCLIP] = _unclip(root / "unclip-src")
    return folders


def serve(hub: StandInHub, folders: dict[str, Path]) -> None:
    """Add every built repo to a stand-in Hub under its real id."""
    for repo, folder in folders.items():
        hub.add_folder(repo, folder)
