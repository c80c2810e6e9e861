"""The pipeline: save/load, embedding, caching, ranking, and generation (determinism, batching, stop)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from tests.helpers.audio import SR, tone
from wavbrivl import GenerationConfig, InputError, WavBriVLPipeline
from wavbrivl.loading import ModelSet

FAST = GenerationConfig(steps=3, size=32, cutn=2, seed=7)


def test_save_and_load_round_trip(tmp_path, tiny_pipeline):
    tiny_pipeline.save_pretrained(tmp_path / "pipe")
    loaded = WavBriVLPipeline.from_pretrained(tmp_path / "pipe", device="cpu")
    clip = (SR, tone())
    torch.testing.assert_close(loaded.embed_audio(clip).embeddings, tiny_pipeline.embed_audio(clip).embeddings)
    assert loaded.untrained == ["audio_tower", "image_tower", "vqgan", "decoder"]
    assert loaded.info()["components"]["image_tower"]["parameters"] == sum(
        p.numel() for p in tiny_pipeline.image_tower.parameters()
    )


def test_embedding_does_not_depend_on_batch_company(tiny_pipeline):
    short, long = (SR, tone(300, seconds=0.6)), (SR, tone(500, seconds=1.3))
    alone = tiny_pipeline.embed_audio(short).embeddings
    together = tiny_pipeline.embed_audio([long, short, long]).embeddings
    torch.testing.assert_close(together[1:2], alone)


def test_volumes_change_embeddings_and_report_clipping(tiny_pipeline):
    result = tiny_pipeline.embed_audio((SR, tone(amp=0.5)), [-12.0, 0.0, 12.0])
    e = result.embeddings
    assert e.shape == (3, 64) and (e[0] - e[2]).norm() > 1e-2
    assert result.volumes[2].exceeds_full_scale and any("exceed full scale" in n for n in result.notes)


def test_gallery_is_embedded_once(tiny_pipeline, image_files, monkeypatch):
    tiny_pipeline.image_cache.clear()
    calls = []
    original = tiny_pipeline.image_tower.encode_pixels
    monkeypatch.setattr(tiny_pipeline.image_tower, "encode_pixels", lambda x: calls.append(len(x)) or original(x))
    first = tiny_pipeline.embed_images(image_files)
    renamed = [Image.open(p).copy() for p in image_files]  # same pixels, no file name: still cached
    second = tiny_pipeline.embed_images(renamed)
    assert sum(calls) == 5
    torch.testing.assert_close(first, second)


def test_rank_orders_by_score(tiny_pipeline, image_files):
    result = tiny_pipeline.rank((SR, tone()), image_files)
    scores = result.scores[0]
    ordered = [scores[i] for i, _ in result.ranked()]
    assert ordered == sorted(ordered, reverse=True) and len(ordered) == 5
    embeds = tiny_pipeline.embed_images(image_files)
    torch.testing.assert_close(tiny_pipeline.rank((SR, tone()), embeds).scores, result.scores)


def test_generation_streams_every_step_and_a_final(tiny_pipeline):
    steps = list(tiny_pipeline.generate((SR, tone()), 0.0, FAST))
    assert [s.step for s in steps] == [0, 1, 2, 3] and steps[-1].final and not steps[0].final
    assert steps[-1].pixels.shape == (1, 3, 32, 32) and steps[-1].images[0].size == (32, 32)
    assert not torch.equal(steps[0].pixels, steps[-1].pixels)


def test_same_seed_same_images_other_seed_other_images(tiny_pipeline):
    clip = (SR, tone())
    a = tiny_pipeline.generate_final(clip, 0.0, FAST)
    b = tiny_pipeline.generate_final(clip, 0.0, FAST)
    c = tiny_pipeline.generate_final(clip, 0.0, GenerationConfig(steps=3, size=32, cutn=2, seed=8))
    assert torch.equal(a.pixels, b.pixels) and not torch.equal(a.pixels, c.pixels)


@pytest.mark.slow
def test_volumes_generate_together_like_separate_runs(tiny_pipeline):
    clip = (SR, tone(amp=0.4))
    batched = tiny_pipeline.generate_final(clip, [-6.0, 0.0, 6.0], FAST)
    assert batched.pixels.shape[0] == 3 and len(batched.similarity) == 3
    single = tiny_pipeline.generate_final(clip, 6.0, FAST)
    torch.testing.assert_close(batched.pixels[2:], single.pixels, atol=2e-3, rtol=0)


def test_stop_ends_cleanly_and_keeps_the_result(tiny_pipeline):
    seen = []
    steps = tiny_pipeline.generate(
        (SR, tone()), 0.0, GenerationConfig(steps=50, size=32, cutn=1), should_stop=lambda: len(seen) >= 2
    )
    for step in steps:
        seen.append(step)
    assert len(seen) == 3 and seen[-1].final and seen[-1].step == 2


def test_init_image_is_used(tiny_pipeline):
    red = Image.new("RGB", (40, 40), (255, 0, 0))
    config = GenerationConfig(steps=1, size=32, cutn=1, lr=1e-6)
    first = next(iter(tiny_pipeline.generate((SR, tone()), 0.0, config, init_image=red)))
    blue = Image.new("RGB", (40, 40), (0, 0, 255))
    other = next(iter(tiny_pipeline.generate((SR, tone()), 0.0, config, init_image=blue)))
    assert not torch.equal(first.pixels, other.pixels)


@pytest.mark.parametrize(
    "config,message",
    [(GenerationConfig(steps=0), "steps"), (GenerationConfig(size=1), "size"), (GenerationConfig(cutn=0), "cutouts")],
)
def test_bad_generation_settings(tiny_pipeline, config, message):
    with pytest.raises(InputError, match=message):
        tiny_pipeline.generate((SR, tone()), 0.0, config)


def test_mismatched_clip_and_volume_counts(tiny_pipeline):
    with pytest.raises(InputError, match="2 clips but 3 volumes"):
        tiny_pipeline.embed_audio([(SR, tone()), (SR, tone(200))], [0.0, 1.0, 2.0])


def test_mismatched_towers_refused():
    from wavbrivl.configs import BriVLImageConfig
    from wavbrivl.errors import WeightsError
    from wavbrivl.loading.towers import random_components
    from wavbrivl.models import BriVLImageTower

    audio, _, vqgan = random_components()
    image = BriVLImageTower(
        BriVLImageConfig(
            backbone="test_efficientnet",
            image_size=64,
            hidden_dim=16,
            num_layers=1,
            num_heads=2,
            ffn_dim=16,
            embed_dim=32,
        )
    )
    with pytest.raises(WeightsError, match="64-d but the image tower embeds to 32-d"):
        WavBriVLPipeline(ModelSet(audio, image, vqgan), device="cpu")


def test_numpy_and_path_inputs_agree(tiny_pipeline, wav_file):
    from wavbrivl import load_audio

    wave = load_audio(wav_file).waveform
    torch.testing.assert_close(
        tiny_pipeline.embed_audio(wav_file).embeddings,
        tiny_pipeline.embed_audio((SR, np.asarray(wave))).embeddings,
    )


def test_from_pretrained_with_component_overrides(tmp_path, tiny_pipeline):
    from wavbrivl.loading.folders import save_component
    from wavbrivl.loading.towers import random_components

    tiny_pipeline.save_pretrained(tmp_path / "pipe")
    audio, image, _ = random_components(seed=9)
    save_component(audio, tmp_path / "audio")
    save_component(image, tmp_path / "image")
    pipe = WavBriVLPipeline.from_pretrained(
        tmp_path / "pipe", audio=str(tmp_path / "audio"), image=str(tmp_path / "image"), device="cpu"
    )
    torch.testing.assert_close(
        pipe.image_tower.learnable["imgFC"]["fc1"].weight, image.learnable["imgFC"]["fc1"].weight
    )
    assert pipe.provenance["audio_tower"].source == str(tmp_path / "audio")
