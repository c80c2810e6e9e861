"""Films: frames composed sharp and even-sided, written as MP4 (PyAV) or animated WebP (Pillow), read back to the
frames written; a generation's steps and a volume study of 3 volumes as one film; `generate --film`."""

from __future__ import annotations

import math
from dataclasses import replace

import av
import numpy as np
import pytest
from PIL import Image

from wavbrivl.cli import main
from wavbrivl.errors import InputError
from wavbrivl.film import (
    GAP,
    LABEL_HEIGHT,
    MIN_HEIGHT,
    FilmWriter,
    compose_frame,
    film_of_pictures,
    film_of_steps,
    read_film,
    upscale,
    video_codec,
    write_film,
)
from wavbrivl.toyworld.evaluate import class_sounds


def _pictures(count: int, size: tuple[int, int] = (64, 64)) -> list[Image.Image]:
    """Distinct pictures: a block that moves and changes colour."""
    out = []
    for k in range(count):
        array = np.full((size[1], size[0], 3), 24, dtype=np.uint8)
        array[8 + k : 24 + k, 10 + 2 * k : 30 + 2 * k] = (200, 40 + 20 * k, 90)
        out.append(Image.fromarray(array))
    return out


def test_frames_are_scaled_up_sharp_and_even_sided():
    small = _pictures(1)[0]
    big = upscale(small)
    assert big.size == (256, 256)
    assert np.array_equal(np.asarray(big)[::4, ::4], np.asarray(small))  # nearest neighbour: whole blocks
    frame = compose_frame(_pictures(3), ["-6 dB", "0 dB", "+6 dB"])
    assert frame.size == (3 * 256 + 2 * GAP, 256 + LABEL_HEIGHT)
    odd = compose_frame(_pictures(1, (33, 21)))  # a factor of 13: 429 x 273, padded to even sides
    assert odd.size == (430, 274) and math.ceil(MIN_HEIGHT / 21) == 13
    assert upscale(Image.new("RGB", (300, 400))).size == (300, 400)  # large enough already


@pytest.mark.parametrize("suffix", [".mp4", ".webp"])
def test_a_film_reads_back_to_the_frames_written(suffix, tmp_path):
    frames = [compose_frame([p]) for p in _pictures(7)]
    frames += [frames[-1].copy(), frames[-1].copy()]  # a final frame held: WebP merges it, read_film does not
    info = write_film(frames, tmp_path / f"film{suffix}", fps=8)
    back = read_film(info.path)
    assert info.frames == len(back) == 9
    assert all(f.shape == (256, 256, 3) for f in back) and (info.width, info.height) == (256, 256)
    error = [np.abs(b.astype(int) - np.asarray(f).astype(int)).mean() for b, f in zip(back, frames)]
    assert max(error) < (0.01 if suffix == ".webp" else 3.0), error  # WebP lossless; H.264 close


def test_mp4_is_h264_with_yuv420p_where_pyav_has_libx264(tmp_path):
    info = write_film([compose_frame([p]) for p in _pictures(3)], tmp_path / "f.mp4")
    with av.open(str(info.path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == ("h264" if "libx264" in av.codecs_available else "mpeg4")
        assert stream.codec_context.pix_fmt == "yuv420p" and stream.average_rate == 8
    assert info.codec == video_codec()


def test_mpeg4_when_there_is_no_h264(tmp_path, monkeypatch):
    monkeypatch.setattr("wavbrivl.film.video_codec", lambda: "mpeg4")
    info = write_film([compose_frame([p]) for p in _pictures(5)], tmp_path / "f.mp4", fps=4)
    assert info.codec == "mpeg4" and len(read_film(info.path)) == 5


def test_film_refusals(tmp_path):
    with pytest.raises(InputError, match=r"\.mp4 or \.webp"):
        FilmWriter(tmp_path / "film.gif")
    with pytest.raises(InputError, match="frame rate"):
        FilmWriter(tmp_path / "film.mp4", fps=0)
    with pytest.raises(InputError, match="no frames"):
        FilmWriter(tmp_path / "film.webp").close()
    with pytest.raises(InputError, match="even width and height"):
        FilmWriter(tmp_path / "odd.webp").add(Image.new("RGB", (31, 30)))
    writer = FilmWriter(tmp_path / "two.mp4")
    writer.add(Image.new("RGB", (32, 32)))
    with pytest.raises(InputError, match="the first was"):
        writer.add(Image.new("RGB", (64, 32)))
    assert writer.close().frames == 1


def test_a_blend_film_has_one_frame_per_picture(tmp_path):
    info = film_of_pictures(_pictures(6), tmp_path / "blend.webp", [f"t={t:.1f}" for t in np.linspace(0, 1, 6)])
    assert len(read_film(info.path)) == 6 and (info.width, info.height) == (256, 256 + LABEL_HEIGHT)


@pytest.fixture(scope="module")
def study_steps(toy_pipeline):
    """A volume study of 3 volumes by the decoder: every streamed step."""
    config = toy_pipeline.generation_config(method="decoder", seed=0)
    return list(toy_pipeline.generate(class_sounds(777)[2], [-6.0, 0.0, 6.0], config))


@pytest.mark.parametrize("suffix", [".mp4", ".webp"])
def test_a_volume_study_of_3_volumes_is_one_film_side_by_side(study_steps, suffix, tmp_path):
    labels = ["-6 dB", "+0 dB", "+6 dB"]
    info = film_of_steps(study_steps, tmp_path / f"study{suffix}", labels)
    back = read_film(info.path)
    assert len(study_steps) == 11 and len(back) == info.frames == 11  # 10 sampling steps and the final picture
    assert back[0].shape == (256 + LABEL_HEIGHT, 3 * 256 + 2 * GAP, 3)
    final = np.asarray(compose_frame(study_steps[-1].images, labels))
    assert np.abs(back[-1].astype(int) - final.astype(int)).mean() < (0.01 if suffix == ".webp" else 3.0)


def test_an_optimisation_film_has_one_frame_per_step(toy_pipeline, tmp_path):
    config = replace(toy_pipeline.generation_config(method="vqgan", steps=4, start_steps=2, starts=2, cutn=2), seed=1)
    info = film_of_steps(toy_pipeline.generate(class_sounds(777)[5], 0.0, config), tmp_path / "vqgan.mp4")
    assert info.frames == len(read_film(info.path)) == 5 and (info.width, info.height) == (256, 256)


def test_generate_writes_its_film(tmp_path, capsys):
    import soundfile as sf

    rate, wave = class_sounds(777)[0]
    sf.write(tmp_path / "a.wav", wave, rate)
    film = tmp_path / "steps.webp"
    args = ["generate", "--audio", str(tmp_path / "a.wav"), "--volumes", "-6", "0", "--sample-steps", "4"]
    assert main([*args, "--every", "0", "--out", str(tmp_path / "out"), "--film", str(film)]) == 0
    assert "film: 5 frames" in capsys.readouterr().out
    assert [f.shape for f in read_film(film)] == [(256 + LABEL_HEIGHT, 2 * 256 + GAP, 3)] * 5
    assert main([*args, "--out", str(tmp_path / "out"), "--film", str(tmp_path / "steps.gif")]) == 2
    assert ".mp4 or .webp" in capsys.readouterr().err
