"""The input guards at exactly their limits and just past them, with their messages word for word (issue 31): the
full-scale limit (10x), the shortest sound (400 samples at 16 kHz, counted after resampling and cropping), the sample
rates a recording may have, the channels, the sample types, and the image's pixel limit."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
import soundfile as sf
from PIL import Image

from tests.helpers.sound_formats import write_sound
from wavbrivl.data import image as image_module
from wavbrivl.data.audio import (
    ACCEPTED,
    MAX_FULL_SCALE,
    AudioClip,
    clip_window,
    load_audio,
    windows,
)
from wavbrivl.data.image import MAX_PIXELS, load_image
from wavbrivl.errors import InputError

SR = 16000


def refusal(*args, **kwargs) -> str:
    with pytest.raises(InputError) as refused:
        load_audio(*args, **kwargs)
    return str(refused.value)


def flat(value: float, samples: int = 400, dtype=np.float32) -> tuple[int, np.ndarray]:
    return SR, np.full(samples, value, dtype=dtype)


# ---------------------------------------------------------------- sounds
def test_full_scale_limit_is_ten_times_exactly():
    assert MAX_FULL_SCALE == 10.0
    at_limit = load_audio(flat(10.0))
    assert at_limit.notes == [
        "the sound itself reaches 10.00x full scale (±1) before any gain; the clipping policy applies"
    ]
    assert refusal(flat(10.001)) == (
        "audio: samples reach 10, 10x full scale (±1); float audio more than 10x beyond full scale is refused "
        "(scale it to ±1, or use the volume control)"
    )
    assert refusal(flat(-25.0), name="neg.wav").startswith("neg.wav: samples reach 25, 25x full scale")


def test_full_scale_itself_is_not_noted():
    assert load_audio(flat(1.0)).notes == [] and load_audio(flat(-1.0)).notes == []
    assert load_audio(flat(1.001)).notes == [
        "the sound itself reaches 1.00x full scale (±1) before any gain; the clipping policy applies"
    ]


def test_the_shortest_sound_is_400_samples_exactly():
    assert len(load_audio(flat(0.1, 400)).waveform) == 400
    assert refusal(flat(0.1, 399)) == "audio: only 399 samples at 16 kHz; at least 400 (25 ms) are needed"
    assert refusal(flat(0.1, 101)) == "audio: only 101 samples at 16 kHz; at least 400 (25 ms) are needed"


def test_the_shortest_sound_is_counted_at_16_khz_after_resampling_and_cropping():
    assert len(load_audio((1000, np.full(25, 0.1, dtype=np.float32))).waveform) == 400  # 25 ms at 1 kHz
    assert refusal((1000, np.full(24, 0.1, dtype=np.float32))) == (
        "audio: only 384 samples at 16 kHz; at least 400 (25 ms) are needed"
    )
    assert refusal(flat(0.1, 16000), max_seconds=0.024) == (
        "audio: only 384 samples at 16 kHz; at least 400 (25 ms) are needed"
    )


def test_cropping_at_exactly_the_limit_is_no_crop():
    whole = load_audio(flat(0.1, 24000), max_seconds=1.5)
    assert len(whole.waveform) == 24000 and whole.notes == []
    cut = load_audio(flat(0.1, 24001), max_seconds=1.5)
    assert len(cut.waveform) == 24000 and cut.notes == ["cropped from 1.5 s to the first 1.5 s"]
    assert load_audio(flat(0.1, 32000), max_seconds=1.5).notes == ["cropped from 2.0 s to the first 1.5 s"]


@pytest.mark.parametrize("rate,accepted", [(999, False), (1000, True), (768000, True), (768001, False)])
def test_sample_rates_from_1_khz_to_768_khz(rate, accepted):
    source = (rate, np.full(rate // 40 + 1, 0.1, dtype=np.float32))  # just over 25 ms
    if accepted:
        clip = load_audio(source)
        assert clip.notes == [f"resampled from {rate} Hz to 16000 Hz"] and len(clip.waveform) >= 400
    else:
        assert refusal(source) == (
            f"audio: a sample rate of {rate} Hz is not a sound recording's; expected 1000 to 768000 Hz "
            "(16000, 44100 and 48000 are usual)"
        )


def test_tuples_and_rates_said_plainly():
    wave = np.full(400, 0.1, dtype=np.float32)
    np.testing.assert_array_equal(load_audio((wave, SR)).waveform, wave)  # (array, rate) is read too
    assert refusal((SR, wave, 3)) == "audio: a tuple must be (sample_rate, array); got 3 items"
    assert refusal(("abc", wave)) == "audio: sample rate 'abc' is not a number"
    assert refusal((-5, wave)) == "audio: sample rate must be positive, got -5"
    assert refusal((0, wave)) == "audio: sample rate must be positive, got 0"
    assert refusal(wave, name="w") == "w: an array needs its sample rate (sample_rate=...)"
    assert refusal(None) == f"audio: no audio was given; expected {ACCEPTED}"
    assert refusal(3.5) == f"audio: unsupported audio input of type float; expected {ACCEPTED}"
    assert refusal((SR, np.zeros(0, dtype=np.float32))) == (
        "audio: the audio is empty (zero samples); expected at least a short sound"
    )
    assert refusal((SR, np.array([0.1, np.nan, np.inf] * 200))) == (
        "audio: 400 samples are NaN or infinite; audio must be finite numbers"
    )


def test_sample_types_map_to_full_scale():
    def samples(array: np.ndarray) -> np.ndarray:
        clip = load_audio((SR, np.resize(array, 400)))
        assert clip.waveform.dtype == np.float32
        return clip.waveform[: len(array)]

    np.testing.assert_array_equal(samples(np.array([True, False])), [1.0, 0.0])
    np.testing.assert_array_equal(samples(np.array([0, 128, 255], dtype=np.uint8)), [-1.0, 0.0, 127 / 128])
    np.testing.assert_array_equal(samples(np.array([0, 32768, 49152], dtype=np.uint16)), [-1.0, 0.0, 0.5])
    np.testing.assert_array_equal(samples(np.array([-128, 64, 0], dtype=np.int8)), [-1.0, 0.5, 0.0])
    np.testing.assert_array_equal(samples(np.array([-32768, 16384], dtype=np.int16)), [-1.0, 0.5])
    wave = np.random.default_rng(0).uniform(-1, 1, 400)
    np.testing.assert_array_equal(load_audio((SR, wave)).waveform, wave.astype(np.float32))
    assert refusal((SR, np.zeros(400, dtype=np.complex64))) == (
        "audio: unsupported sample type complex64; expected int or float samples"
    )


def test_up_to_16_channels_either_way_round():
    left, right = np.full(500, 0.2, dtype=np.float32), np.full(500, 0.4, dtype=np.float32)
    np.testing.assert_allclose(load_audio((SR, np.stack([left, right]))).waveform, np.full(500, 0.3), rtol=1e-6)
    sixteen = np.tile(np.linspace(0, 0.3, 16, dtype=np.float32), (500, 1))
    np.testing.assert_allclose(load_audio((SR, sixteen)).waveform, np.full(500, 0.15), rtol=1e-6)
    assert refusal((SR, np.zeros((500, 17), dtype=np.float32))) == (
        "audio: audio of shape (500, 17) has 17 channels; at most 16 are accepted"
    )
    assert refusal((SR, np.zeros((17, 500), dtype=np.float32))) == (
        "audio: audio of shape (17, 500) has 17 channels; at most 16 are accepted"
    )
    assert refusal((SR, np.zeros((2, 500, 2), dtype=np.float32))) == (
        "audio: audio array has 3 dimensions; expected (samples,) or (samples, channels)"
    )


def test_silence_is_below_minus_60_dbfs():
    assert load_audio(flat(0.001)).notes == []  # -60 dBFS itself
    assert load_audio(flat(0.00099)).notes == ["the sound is silent or nearly so (peak below -60 dBFS)"]
    assert load_audio(flat(0.0)).notes == ["the sound is silent or nearly so (peak below -60 dBFS)"]


def test_files_read_by_libsndfile_keep_their_samples(tmp_path):
    """A wav is read by libsndfile (never FFmpeg, whose resampler would give other samples) and resampled by soxr,
    exactly as the same samples given as an array."""
    wave = np.random.default_rng(1).uniform(-0.5, 0.5, 22050).astype(np.float32)
    sf.write(tmp_path / "a.wav", np.stack([wave, wave], axis=1), 22050, subtype="FLOAT")
    from_file, from_array = load_audio(tmp_path / "a.wav"), load_audio((22050, wave))
    np.testing.assert_array_equal(from_file.waveform, from_array.waveform)
    assert from_file.notes == from_array.notes == ["resampled from 22050 Hz to 16000 Hz"]
    assert from_file.name == str(tmp_path / "a.wav") and from_file.seconds == pytest.approx(1.0)
    from_bytes = load_audio((tmp_path / "a.wav").read_bytes(), name="upload")
    np.testing.assert_array_equal(from_bytes.waveform, from_array.waveform)
    assert from_bytes.name == "upload"


def test_files_read_by_ffmpeg_from_a_path_or_bytes_alike(tmp_path):
    wave = np.sin(np.arange(16000) * 0.05).astype(np.float32) * 0.5
    m4a = write_sound(tmp_path / "toy.m4a", "toy.m4a", wave)
    webm = write_sound(tmp_path / "toy.webm", "toy.webm", wave)
    from_path, from_bytes = load_audio(m4a), load_audio(m4a.read_bytes())
    np.testing.assert_array_equal(from_path.waveform, from_bytes.waveform)
    assert from_path.notes == []  # encoded at 16 kHz: nothing resampled
    assert load_audio(webm).notes == ["resampled from 48000 Hz to 16000 Hz"]  # Opus is 48 kHz inside
    assert abs(len(from_path.waveform) - 16000) < 1600


def test_unreadable_files_say_why_in_both_decoders_words(tmp_path):
    text = tmp_path / "notes.wav"
    text.write_text("this is not audio at all " * 20)
    why = "FFmpeg: Invalid data found when processing input; libsndfile: Format not recognised"
    assert refusal(text) == f"{text}: not a readable sound file ({why}); expected {ACCEPTED}"
    assert refusal(text.read_bytes()) == f"audio: not a readable sound file ({why}); expected {ACCEPTED}"
    assert refusal(text, name="n.wav") == f"n.wav: not a readable sound file ({why}); expected {ACCEPTED}"
    (tmp_path / "folder.wav").mkdir()
    assert refusal(tmp_path / "folder.wav", name="f.wav") == "f.wav: is a folder, not a sound file"
    picture = tmp_path / "x.png"
    Image.new("RGB", (8, 8)).save(picture)
    assert refusal(picture, name="x.png") == "x.png: has no audio stream"


def test_the_decoders_complaints_lose_the_folder_and_the_full_stop():
    from wavbrivl.data.audio import _why

    path = __import__("pathlib").Path("/srv/uploads/tmp123/a.wav")
    assert _why(ValueError(f"cannot open {path}."), path) == "cannot open a.wav"
    assert _why(OSError(2, "No such file"), path) == "No such file"
    assert _why(ValueError("File does not exist or is not a regular file: x"), path) == "format not recognised"
    assert _why(ValueError(), path) == "ValueError"  # an error without words is named by its kind
    assert _why(ValueError("no codec for MAX."), path) == "no codec for MAX"  # only the full stop goes


def test_windows_and_clip_windows_in_worked_values():
    audio = np.arange(SR * 3, dtype=np.float32)  # 3 s
    begin, part = clip_window(audio, 1.0, 0.5)
    assert begin == 1.0 and part[0] == SR and len(part) == SR // 2
    assert clip_window(audio, 2.6, 1.0)[0] == 0.0  # within 0.5 s of the end: from the start
    assert clip_window(audio, 2.5, 1.0)[0] == 0.0  # exactly 0.5 s before the end: from the start too
    assert clip_window(audio, 2.4, None)[0] == 2.4 and len(clip_window(audio, 2.4, None)[1]) == 3 * SR - 38400
    assert clip_window(audio, None, 1.0)[0] == 0.0 and len(clip_window(audio, None, None)[1]) == 3 * SR
    parts = windows(np.ones(SR * 2 + SR // 2, dtype=np.float32), 1.0)  # a last half window is kept, padded
    assert [len(p) for p in parts] == [SR] * 3 and parts[2][SR // 2 - 1] == 1.0 and parts[2][SR // 2] == 0.0
    assert len(windows(np.ones(SR * 2 + SR // 2 - 1, dtype=np.float32), 1.0)) == 2  # less than half: dropped
    assert len(windows(np.ones(100, dtype=np.float32), 1.0)) == 1  # a short sound is one padded window
    assert AudioClip(np.zeros(8000, dtype=np.float32)).seconds == 0.5


def test_channels_are_averaged_in_float32():
    """The channels' mean is taken on float32 samples (as every other step), whatever type they came in."""
    rng = np.random.default_rng(2)
    three = rng.uniform(-0.5, 0.5, (1000, 3)).astype(np.float32)  # a float64 mean would round otherwise
    np.testing.assert_array_equal(load_audio((SR, three)).waveform, three.mean(axis=1))
    wide = rng.integers(-(2**31), 2**31 - 1, (1000, 2), dtype=np.int32)
    as_float = (wide.astype(np.float64) / 2**31).astype(np.float32)
    np.testing.assert_array_equal(load_audio((SR, wide)).waveform, as_float.mean(axis=1))
    unsigned = rng.integers(0, 2**32 - 1, (1000, 2), dtype=np.uint32)
    centred = ((unsigned.astype(np.float64) - 2**31) / 2**31).astype(np.float32)
    np.testing.assert_array_equal(load_audio((SR, unsigned)).waveform, centred.mean(axis=1))


def test_tensors_are_read_like_arrays():
    torch = pytest.importorskip("torch")
    wave = np.random.default_rng(3).uniform(-0.5, 0.5, 800).astype(np.float32)
    np.testing.assert_array_equal(load_audio(torch.tensor(wave), sample_rate=SR).waveform, wave)
    learning = torch.tensor(wave, requires_grad=True)  # a tensor still attached to a graph
    np.testing.assert_array_equal(load_audio(learning, sample_rate=SR).waveform, wave)


def test_a_rate_of_one_hertz_is_positive_but_not_a_recording():
    assert refusal((1, np.zeros(400, dtype=np.float32))) == (
        "audio: a sample rate of 1 Hz is not a sound recording's; expected 1000 to 768000 Hz "
        "(16000, 44100 and 48000 are usual)"
    )


def _stereo_flac_in_matroska(path):
    """Two different channels as FLAC inside Matroska: libsndfile cannot open the container, FFmpeg decodes it (to
    16-bit stereo, which its resampler must turn into float mono)."""
    import fractions

    import av

    t = np.arange(SR) / SR
    channels = np.stack([0.5 * np.sin(2 * np.pi * 300 * t), 0.1 * np.sin(2 * np.pi * 300 * t)])
    with av.open(str(path), "w", format="matroska") as out:
        stream = out.add_stream("flac", rate=SR, layout="stereo")
        for start in range(0, SR, 1024):
            chunk = (channels[:, start : start + 1024].T * 32767).astype(np.int16).reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk), format="s16", layout="stereo")
            frame.sample_rate, frame.pts, frame.time_base = SR, start, fractions.Fraction(1, SR)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def test_ffmpeg_gives_float_mono_at_16_khz(tmp_path):
    clip = load_audio(_stereo_flac_in_matroska(tmp_path / "stereo.mkv"))
    assert len(clip.waveform) == SR and clip.notes == []  # one second, one channel
    assert 0.3 < float(np.abs(clip.waveform).max()) < 0.5  # a float downmix of 0.5 and 0.1 (FFmpeg's weights)
    webm = load_audio(write_sound(tmp_path / "toy.webm", "toy.webm", np.full(SR, 0.1, dtype=np.float32)))
    assert abs(len(webm.waveform) - SR) < SR // 10  # Opus decodes at 48 kHz: resampled to 16 kHz, not relabelled


def test_a_videos_sound_track_alone_is_decoded(tmp_path):
    from tests.helpers.eval_layouts import write_toy_video

    video = write_toy_video(tmp_path / "v.mp4", Image.new("RGB", (64, 64), (200, 0, 0)), np.full(SR, 0.2, np.float32))
    clip = load_audio(video)
    assert abs(len(clip.waveform) - SR) < SR // 10 and clip.notes == []


def test_a_stream_without_samples_is_said(tmp_path, monkeypatch):
    import av

    class Silent:  # a resampler that never gives a frame: the stream held nothing to decode
        def __init__(self, **kwargs):
            pass

        def resample(self, frame):
            return []

    monkeypatch.setattr(av, "AudioResampler", Silent)
    path = _stereo_flac_in_matroska(tmp_path / "s.mkv")
    assert refusal(path, name="s.mkv") == "s.mkv: the audio stream holds no samples"


# ---------------------------------------------------------------- pictures
def png_header(width: int, height: int) -> bytes:
    """A 1-bit grey PNG declaring width x height pixels and holding almost none (cheap to try at any size)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    )


TOO_LARGE = (
    "{label}: {pixels:,} pixels is more than the 89,478,485 an image may have (refused as a possible decompression "
    "bomb); expected an ordinary picture, e.g. under 8000 x 8000"
)


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_the_pixel_limit_from_the_header_exactly():
    assert MAX_PIXELS == 89_478_485
    with pytest.raises(InputError) as at_limit:  # the size passes; the missing pixel data does not
        load_image(png_header(MAX_PIXELS, 1), name="x.png")
    assert str(at_limit.value).startswith("x.png: not a readable image (image file is truncated")
    with pytest.raises(InputError) as past:
        load_image(png_header(MAX_PIXELS + 1, 1), name="x.png")
    assert str(past.value) == TOO_LARGE.format(label="x.png", pixels=MAX_PIXELS + 1)


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_the_pixel_limit_counts_width_times_height():
    with pytest.raises(InputError) as square:  # 9460 x 9460: PIL itself would only warn
        load_image(png_header(9460, 9460), name="sq.png")
    assert str(square.value) == TOO_LARGE.format(label="sq.png", pixels=9460 * 9460)


def test_the_pixel_limit_for_pictures_already_open(monkeypatch):
    monkeypatch.setattr(image_module, "MAX_PIXELS", 100)
    assert load_image(Image.new("L", (10, 10), 7)).size == (10, 10)
    assert load_image(np.zeros((10, 10), dtype=np.uint8)).size == (10, 10)
    with pytest.raises(InputError) as past:
        load_image(Image.new("L", (11, 10)), name="p")
    assert str(past.value).startswith("p: 110 pixels is more than the 100 an image may have")


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_pils_own_bomb_error_is_said_in_our_words(monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 10_000)  # PIL refuses from twice this
    with pytest.raises(InputError) as refused:
        load_image(png_header(200, 101), name="b.png")
    assert str(refused.value) == TOO_LARGE.format(label="b.png", pixels=20_200)

    def wordless(*args, **kwargs):  # a PIL whose refusal does not say the count: one past the limit is said
        raise Image.DecompressionBombError("too large")

    monkeypatch.setattr(Image, "open", wordless)
    with pytest.raises(InputError) as unsaid:
        load_image(png_header(200, 101), name="c.png")
    assert str(unsaid.value) == TOO_LARGE.format(label="c.png", pixels=MAX_PIXELS + 1)


def test_unreadable_pictures_say_why(tmp_path):
    text = tmp_path / "fake.png"
    text.write_bytes(b"hello, I am text")
    with pytest.raises(InputError) as unknown:
        load_image(text, name="fake.png")
    assert str(unknown.value) == (
        f"fake.png: not a readable image (cannot identify the image format); expected {image_module.ACCEPTED}"
    )


def test_image_arrays_in_worked_values(tmp_path):
    grey = load_image(np.array([[-0.5, 0.5], [1.0, 2.0]], dtype=np.float32))
    assert grey.mode == "RGB" and [grey.getpixel((x, y))[0] for y in (0, 1) for x in (0, 1)] == [0, 128, 255, 255]
    assert load_image(np.full((2, 3, 1), 9, dtype=np.uint8)).getpixel((2, 1)) == (9, 9, 9)
    assert load_image(np.full((1, 3, 1), 0.5, dtype=np.float32)).size == (3, 1)  # one row, one channel
    assert load_image(np.zeros((5, 1), dtype=np.uint8)).size == (1, 5)  # one pixel wide is not zero
    assert load_image(Image.new("LA", (1, 1), (0, 0))).getpixel((0, 0)) == (255, 255, 255)  # transparent: white
    assert load_image(Image.new("PA", (1, 1), (0, 0))).getpixel((0, 0)) == (255, 255, 255)
    rgba = np.zeros((2, 2, 4), dtype=np.uint8)
    rgba[0, 0] = (10, 20, 30, 255)
    transparent = load_image(rgba)
    assert transparent.getpixel((0, 0)) == (10, 20, 30) and transparent.getpixel((1, 1)) == (255, 255, 255)
    for bad, why in (
        (np.zeros((2, 2, 2), dtype=np.uint8), "image: array of shape (2, 2, 2) is not (H, W) or (H, W, 1|3|4)"),
        (np.zeros((2,), dtype=np.uint8), "image: array of shape (2,) is not (H, W) or (H, W, 1|3|4)"),
        (np.array([[np.nan]], dtype=np.float32), "image: image array has NaN or infinite values"),
        (np.zeros((0, 4), dtype=np.uint8), "image: image has zero size"),
        (3, "image: unsupported image input of type int; expected " + image_module.ACCEPTED),
    ):
        with pytest.raises(InputError) as refused:
            load_image(bad)
        assert str(refused.value) == why
    palette = Image.new("P", (2, 1))
    palette.putpalette([0, 0, 0, 200, 100, 50])
    palette.putpixel((1, 0), 1)
    palette.info["transparency"] = 0
    assert list(load_image(palette).getdata()) == [(255, 255, 255), (200, 100, 50)]
    empty = tmp_path / "none"
    empty.mkdir()
    with pytest.raises(InputError) as holds_none:
        image_module.load_images([empty])
    assert str(holds_none.value) == f"{empty}: holds no images (.bmp, .gif, .jpeg, .jpg, .png, .tif, .tiff, .webp)"
    Image.new("RGB", (2, 2)).save(empty / "a.png")
    (empty / "notes.txt").write_text("not a picture")
    (empty / "b.jpg").mkdir()  # a folder named like a picture
    assert image_module.list_image_files(empty) == [empty / "a.png"]
    given = Image.new("RGB", (3, 1), (1, 2, 3))
    loaded = image_module.load_images([given, np.zeros((2, 2), dtype=np.uint8), empty])
    assert [im.size for im in loaded] == [(3, 1), (2, 2), (2, 2)] and loaded[0].getpixel((0, 0)) == (1, 2, 3)
    with pytest.raises(InputError) as no_images:
        image_module.load_images([])
    assert str(no_images.value) == f"no images were given; expected {image_module.ACCEPTED}"
    with pytest.raises(InputError) as not_folder:
        image_module.list_image_files(tmp_path / "missing")
    assert str(not_folder.value) == f"{tmp_path / 'missing'}: not a folder"
