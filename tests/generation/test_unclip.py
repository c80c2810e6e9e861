"""The unclip preset end to end offline: a tiny random Stable unCLIP pipeline and a tiny CLIP model, both built from
configs, then sound -> embedding -> picture through the Python API, the CLI and the app (the real weights were not
run here: stabilityai/stable-diffusion-2-1-unclip-small cannot be downloaded on these machines)."""

from __future__ import annotations

import json
import string
from types import SimpleNamespace

import pytest
import torch
from transformers import (
    CLIPConfig,
    CLIPImageProcessor,
    CLIPModel,
    CLIPTextConfig,
    CLIPTextModel,
    CLIPTokenizer,
    CLIPVisionConfig,
    CLIPVisionModelWithProjection,
    WavLMConfig,
    WavLMModel,
)

from tests.helpers.audio import SR, tone
from wavbrivl import WavBriVLPipeline
from wavbrivl.cli import main
from wavbrivl.generation.unclip import embedding_scale, unclip_embeddings
from wavbrivl.testing import TINY_WAVLM

DIM = 32  # the CLIP space: the towers' projection and the unCLIP pipeline's image embedding


def _tokenizer(path) -> None:
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for suffix in ("", "</w>"):
        for c in string.ascii_lowercase:
            vocab[c + suffix] = len(vocab)
    CLIPTokenizer(vocab=vocab, merges=[], model_max_length=77).save_pretrained(path)


def tiny_unclip_folder(path):
    """A StableUnCLIPImg2ImgPipeline of the real classes at tiny sizes, random weights, saved like the Hub repo."""
    from diffusers import (
        AutoencoderKL,
        DDIMScheduler,
        DDPMScheduler,
        StableUnCLIPImg2ImgPipeline,
        UNet2DConditionModel,
    )
    from diffusers.pipelines.stable_diffusion.stable_unclip_image_normalizer import StableUnCLIPImageNormalizer

    torch.manual_seed(0)
    layers = {"hidden_size": DIM, "intermediate_size": 37, "num_hidden_layers": 2, "num_attention_heads": 4}
    _tokenizer(path / "tokenizer-src")
    normalizer = StableUnCLIPImageNormalizer(embedding_dim=DIM)
    normalizer.mean.data = torch.randn(1, DIM) * 0.5
    normalizer.std.data = torch.rand(1, DIM) + 0.5
    pipe = StableUnCLIPImg2ImgPipeline(
        feature_extractor=CLIPImageProcessor(crop_size=32, size=32),
        image_encoder=CLIPVisionModelWithProjection(
            CLIPVisionConfig(**layers, projection_dim=DIM, image_size=32, patch_size=8)
        ),
        image_normalizer=normalizer,
        image_noising_scheduler=DDPMScheduler(beta_schedule="squaredcos_cap_v2"),
        tokenizer=CLIPTokenizer.from_pretrained(path / "tokenizer-src"),
        text_encoder=CLIPTextModel(CLIPTextConfig(**layers, vocab_size=60, max_position_embeddings=77)),
        unet=UNet2DConditionModel(
            sample_size=8,
            in_channels=4,
            out_channels=4,
            down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
            up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
            block_out_channels=(32, 64),
            attention_head_dim=(2, 4),
            class_embed_type="projection",
            projection_class_embeddings_input_dim=DIM * 2,
            cross_attention_dim=DIM,
            layers_per_block=1,
            use_linear_projection=True,
        ),
        scheduler=DDIMScheduler(
            beta_schedule="scaled_linear",
            beta_start=0.00085,
            beta_end=0.012,
            prediction_type="v_prediction",
            set_alpha_to_one=False,
            steps_offset=1,
        ),  # fmt: skip
        vae=AutoencoderKL(
            block_out_channels=(32, 32),
            down_block_types=("DownEncoderBlock2D",) * 2,
            up_block_types=("UpDecoderBlock2D",) * 2,
            norm_num_groups=8,
        ),  # fmt: skip
    )
    pipe.save_pretrained(path / "unclip")
    return path / "unclip"


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("unclip")
    torch.manual_seed(0)
    layers = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2}
    config = CLIPConfig(
        text_config={**layers, "vocab_size": 60, "max_position_embeddings": 40, "projection_dim": DIM},
        vision_config={**layers, "image_size": 32, "patch_size": 8, "projection_dim": DIM},
        projection_dim=DIM,
    )
    CLIPModel(config).eval().save_pretrained(root / "clip")
    _tokenizer(root / "clip")
    WavLMModel(WavLMConfig(**TINY_WAVLM)).save_pretrained(root / "wavlm")
    return {"clip": root / "clip", "wavlm": root / "wavlm", "unclip": tiny_unclip_folder(root), "root": root}


@pytest.fixture(scope="module")
def pipe(folders):
    return WavBriVLPipeline.from_preset(
        "unclip",
        audio=str(folders["wavlm"]),
        image=str(folders["clip"]),
        unclip=str(folders["unclip"]),
        device="cpu",
        allow_untrained=True,  # a WavLM backbone with a fresh head: these tests check the plumbing
    )


def _normaliser(mean: list[float], std: list[float]) -> SimpleNamespace:
    """A stand-in unCLIP pipeline with only the image normaliser's statistics."""
    return SimpleNamespace(image_normalizer=SimpleNamespace(mean=torch.tensor(mean), std=torch.tensor(std)))


def test_embedding_scale_in_worked_values():
    """The scale is the length of an embedding whose every entry sits mean + std away: sqrt(sum mean² + sum std²)."""
    assert embedding_scale(_normaliser([3.0, 0.0], [0.0, 4.0])) == pytest.approx(5.0)  # sqrt(9 + 16)
    assert embedding_scale(_normaliser([1.0, 1.0, 1.0, 1.0], [0.0, 0.0, 0.0, 0.0])) == pytest.approx(2.0)
    assert embedding_scale(_normaliser([0.0, 0.0], [1.0, 2.0])) == pytest.approx(5**0.5)
    assert embedding_scale(_normaliser([2.0], [-2.0])) == pytest.approx(8**0.5)  # a sign does not shorten it


def test_the_mix_weighs_a_negative_prompt():
    """Targets e0 and e1 weighted 1 and -0.5 mix to (1, -0.5) / |(1, -0.5)|, at the pipeline's scale (here 5)."""
    unclip = _normaliser([3.0, 0.0, 0.0], [0.0, 4.0, 0.0])
    targets = torch.eye(3)[None, :2].repeat(2, 1, 1)  # two pictures, each with targets e0 and e1
    mixed = unclip_embeddings(unclip, targets, torch.tensor([1.0, -0.5]))
    expected = torch.tensor([1.0, -0.5, 0.0]) / 1.25**0.5 * 5
    torch.testing.assert_close(mixed, expected.repeat(2, 1))
    both = unclip_embeddings(unclip, targets, torch.tensor([2.0, 2.0]))  # positive weights share the picture
    torch.testing.assert_close(both, torch.tensor([1.0, 1.0, 0.0]).repeat(2, 1) / 2**0.5 * 5)


def test_embeddings_reach_the_pipeline_at_its_scale(pipe):
    scale = embedding_scale(pipe.unclip)
    targets = torch.nn.functional.normalize(torch.randn(3, 2, DIM), dim=-1)
    mixed = unclip_embeddings(pipe.unclip, targets, torch.tensor([1.0, -0.5]))
    assert mixed.shape == (3, DIM) and torch.allclose(mixed.norm(dim=-1), torch.full((3,), scale))


def test_sound_to_picture_through_python(pipe):
    assert pipe.methods() == ["unclip"] and pipe.generation_config().method == "unclip"
    config = pipe.generation_config(size=64, sample_steps=4, seed=3)
    stream = list(pipe.generate([(SR, tone())], [0.0, 6.0, -6.0], config))
    assert stream[-1].final and all(s.pixels.shape == (3, 3, 64, 64) for s in stream)
    assert 2 <= len(stream) <= 5  # a few VAE-decoded previews on the way, then the final picture
    again = pipe.generate_final([(SR, tone())], [0.0, 6.0, -6.0], config)
    assert torch.equal(again.pixels, stream[-1].pixels)  # one seed, the same pictures
    text = pipe.generate_final(None, prompts="a red circle:1 | blue:-0.5", config=config)
    assert text.pixels.shape == (1, 3, 64, 64)
    with pytest.raises(Exception, match="multiple of 8"):
        pipe.check_inputs(pipe.generation_config(size=60))
    with pytest.raises(Exception, match="noise level"):
        pipe.check_inputs(pipe.generation_config(noise_level=5000))
    with pytest.raises(Exception, match="no VQGAN|'vqgan' needs"):
        pipe.check_inputs(pipe.generation_config(method="vqgan"))


def test_saved_set_keeps_its_unclip(pipe, tmp_path):
    pipe.save_pretrained(tmp_path / "set")
    again = WavBriVLPipeline.from_pretrained(tmp_path / "set", device="cpu")
    assert again.unclip is not None and again.methods() == ["unclip"]
    assert again.info()["components"]["unclip"]["class"] == "StableUnCLIPImg2ImgPipeline"


def test_sound_to_picture_through_the_cli(folders, tmp_path, wav_file):
    out = tmp_path / "out"
    models = ["--preset", "unclip", "--audio-weights", str(folders["wavlm"]), "--image-weights", str(folders["clip"])]
    models += ["--unclip-weights", str(folders["unclip"]), "--allow-untrained"]
    args = ["generate", "--audio", str(wav_file), "--volumes", "0", "6", "--size", "64", "--sample-steps", "3"]
    assert main([*args, "--noise-level", "10", "--guidance", "3", "--every", "0", "--out", str(out), *models]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["method"] == "unclip" and len(list(out.glob("*_final.png"))) == 2


def test_sound_to_picture_through_the_app(pipe, wav_file):
    from gradio_client import Client, handle_file

    import app

    demo = app.build_app(pipe)
    demo.queue().launch(server_name="127.0.0.1", server_port=None, prevent_thread_lock=True, quiet=True)
    try:
        client = Client(demo.local_url, verbose=False)
        args = [handle_file(str(wav_file)), 0, 10, 1, 64, 0.1, 2, None, "", "unclip", 3, 4.0, 0]
        outputs = list(client.submit(*args, api_name="/generate"))
        assert "final, unclip" in outputs[-1][3]
        study = client.predict(handle_file(str(wav_file)), "-6 0 6", 10, 1, 64, 2, "unclip", 3, 4.0, 0,
                               api_name="/volume_study")  # fmt: skip
        assert len(study[0]) == 3 and "final, unclip" in study[1]
    finally:
        demo.close()
