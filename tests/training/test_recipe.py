"""The path a researcher takes from a folder of videos to a Space, rehearsed end to end on the real architectures
at tiny size, with the brivl preset's weights fetched from the stand-in Hub under their real repo ids:

videos -> prepare -> embed-frames -> a base set -> train -> train-decoder -> a saved set -> from_pretrained (from the
folder and from a Hub repo) -> the app serves it with its sound paths on (a trained audio tower: no refusal).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.helpers import real_repos as repos
from tests.helpers.media import make_video
from tests.helpers.stand_in_hub import StandInHub, hub_environment
from wavbrivl import WavBriVLPipeline
from wavbrivl.cli import main


@pytest.mark.slow
def test_videos_to_a_served_set_through_the_cli_and_the_hub(tmp_path, monkeypatch):
    videos = tmp_path / "videos"
    videos.mkdir()
    for i, freq in enumerate((220, 330, 440, 550, 660, 770, 880, 990)):
        make_video(videos / f"clip{i}.mp4", seconds=1.5, freq=freq, size=(64, 48))
    with StandInHub() as hub:
        repos.serve(hub, repos.build_repos(tmp_path / "repos"))
        hub_environment(hub, monkeypatch, tmp_path / "hf_home")
        shards, run, decoder = tmp_path / "shards", tmp_path / "run", tmp_path / "decoder"
        assert (
            main(["prepare", "--videos", str(videos), "--out", str(shards), "--seconds", "1", "--per-shard", "4"]) == 0
        )
        assert main(["embed-frames", "--shards", str(shards), "--tower", "brivl", "--batch-size", "4"]) == 0
        base = WavBriVLPipeline.from_preset("brivl", device="cpu")  # WavLM, BriVL and the VQGAN from the Hub
        assert base.sound_refusal() != ""  # its head is untrained: sounds are refused until trained
        base.save_pretrained(tmp_path / "base")
        train = ["train", "--shards", str(shards), "--base", str(tmp_path / "base"), "--out", str(run), "--steps", "3"]
        train += ["--batch-size", "4", "--queue-size", "8", "--clip-seconds", "1", "--warmup", "1", "--log-every", "1"]
        assert main(train) == 0
        assert main(["train-decoder", "--shards", str(shards), "--pretrained", str(run), "--out", str(decoder),
                     "--steps", "2", "--batch-size", "4", "--log-every", "1", "--add-to-set",
                     "--distill-steps", "2", "--distill-pairs", "8", "--student-steps", "1"]) == 0  # fmt: skip

        pipe = WavBriVLPipeline.from_pretrained(run, device="cpu")
        assert pipe.provenance["audio_tower"].trained and pipe.sound_refusal() == ""
        assert pipe.methods()[0] == "decoder" and json.loads((run / "model_index.json").read_text())["training"]
        assert pipe.decoder.sampler_for(1) is pipe.decoder.student and pipe.generation_config().sample_steps == 1
        assert json.loads((decoder / "decoder-run.json").read_text())["student"]["step"] == 2
        hub.add_folder("researcher/wavbrivl-tiny", run)
        served = WavBriVLPipeline.from_pretrained("researcher/wavbrivl-tiny", device="cpu")
        sound = (16000, (0.3 * np.sin(np.linspace(0, 2 * np.pi * 440, 16000))).astype(np.float32))
        for one in (pipe, served):
            picture = one.generate_final(sound, [0.0], one.generation_config(seed=0))
            assert picture.final and picture.images[0].size[0] > 0
        np.testing.assert_allclose(pipe.embed_audio(sound).embeddings, served.embed_audio(sound).embeddings, atol=1e-6)
        # docs/spaces.md: a real preset with the pushed set's audio tower (WAVBRIVL_AUDIO=owner/set)
        monkeypatch.setenv("WAVBRIVL_AUDIO", "researcher/wavbrivl-tiny")
        preset = WavBriVLPipeline.from_preset("brivl", device="cpu", load_generators=False)
        assert preset.sound_refusal() == "" and preset.provenance["audio_tower"].trained
        np.testing.assert_allclose(preset.embed_audio(sound).embeddings, pipe.embed_audio(sound).embeddings, atol=1e-6)
        _served_by_the_app(served, tmp_path)


def _served_by_the_app(pipe: WavBriVLPipeline, tmp_path) -> None:
    """The app over the trained set: ranking and generating by a sound answer, with no refusal."""
    import soundfile as sf
    from gradio_client import Client, handle_file
    from PIL import Image

    import app

    wav = tmp_path / "tone.wav"
    sf.write(wav, (0.3 * np.sin(np.linspace(0, 2 * np.pi * 440, 16000))).astype(np.float32), 16000)
    images = []
    for i, colour in enumerate(("red", "blue")):
        Image.new("RGB", (48, 48), colour).save(tmp_path / f"{i}.png")
        images.append(handle_file(str(tmp_path / f"{i}.png")))
    demo = app.build_app(pipe)
    demo.queue().launch(server_name="127.0.0.1", server_port=None, prevent_thread_lock=True, quiet=True)
    try:
        client = Client(demo.local_url, verbose=False)
        ranked, _ = client.predict(handle_file(str(wav)), images, False, 0, "", api_name="/rank")
        assert len(ranked) == 2
        args = [handle_file(str(wav)), 0, 10, 1, 64, 0.1, 2, None, "", "decoder", 2, 4.0, 0]
        *_, last = client.submit(*args, api_name="/generate")
        assert "final, decoder" in last[3] and last[0] is not None  # a picture drawn from the sound
    finally:
        demo.close()
