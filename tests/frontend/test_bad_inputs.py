"""A corpus of bad inputs through the app's API: each gets the project's own message naming the user's file, never a
generic or internal error nor the server's copy of the file; the server keeps answering. Then the library checks."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
import soundfile as sf
from gradio_client import handle_file
from PIL import Image

from tests.helpers.audio import SR, tone
from wavbrivl import InputError, load_audio, load_image
from wavbrivl.generation import parse_prompts

FORBIDDEN = ("/tmp/gradio", "Traceback", "Something went wrong", "internal", "upstream Gradio")


def png_header(width: int, height: int) -> bytes:
    """A PNG that declares width x height pixels but holds almost no data: a decompression bomb's header."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\0" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, str]:
    """Every bad file of the corpus, and a good sound and picture, by name."""
    folder = tmp_path_factory.mktemp("bad")
    good = tone(seconds=0.5)

    def sound(name, wave, rate=SR, **kwargs):
        sf.write(folder / name, wave, rate, **kwargs)

    def raw(name, data: bytes):
        (folder / name).write_bytes(data)

    sound("ok.wav", good)
    Image.new("RGB", (24, 24), (200, 40, 40)).save(folder / "ok.png")
    nan, inf = good.copy(), good.copy()
    nan[10] = np.nan
    inf[[1, 2, 3]] = np.inf
    sound("nan.wav", nan, subtype="FLOAT")
    sound("inf.wav", inf, subtype="FLOAT")
    sound("loud100.wav", good / np.abs(good).max() * 100, subtype="FLOAT")
    sound("onehz.wav", good[:2000], rate=1)
    sound("fast.wav", good[:2000], rate=2_000_000)
    sound("nosamples.wav", np.zeros(0, np.float32))
    sound("click.wav", good[:100])
    sound("channels64.wav", np.zeros((800, 64), np.float32))
    raw("empty.wav", b"")
    raw("header.wav", (folder / "ok.wav").read_bytes()[:30])
    raw("notes.wav", b"this is not audio at all\n" * 20)
    raw("random.mp3", np.random.default_rng(0).integers(0, 256, 4000, dtype=np.uint8).tobytes())
    raw("recordings", b"\x00\x01 no suffix, no sound" * 10)
    raw("picture.png", (folder / "ok.png").read_bytes())
    raw("fake.png", b"hello, I am text")
    raw("scribble.png", b"\x89PNG but not really")
    raw("empty.png", b"")
    Image.new("RGB", (64, 64), (1, 2, 3)).save(folder / "full.jpg")
    raw("cut.jpg", (folder / "full.jpg").read_bytes()[:40])
    raw("bomb.png", png_header(30000, 30000))
    raw("notes.txt", b"a text file")
    return {p.name: str(p) for p in folder.iterdir()}


def _up(path):
    return handle_file(path) if path is not None else None


def rank(sound="ok.wav", images=("ok.png",), examples=False, volume=0, text=""):
    return lambda f: ("/rank", (_up(f.get(sound)), [_up(f[i]) for i in images], examples, volume, text))


def generate(sound="ok.wav", volume=0, steps=1, seed=1, size=32, lr=0.1, cutn=1, init=None, prompts=""):
    return lambda f: (
        "/generate",
        (_up(f.get(sound)), volume, steps, seed, size, lr, cutn, _up(f.get(init)), prompts),
    )


def volume_study(volumes="0", sound="ok.wav", steps=1, seed=1, size=32, cutn=1):
    return lambda f: ("/volume_study", (_up(f.get(sound)), volumes, steps, seed, size, cutn))


def classify(sound="ok.wav", classes="dog, rain", templates="{}"):
    return lambda f: ("/classify", (_up(f.get(sound)), 0, classes, templates))


def level(sound, volume=0):
    return lambda f: ("/level_view", (_up(f.get(sound)), volume))


NO_SOUND = "Record or upload a sound first"
UNREADABLE = "not a readable sound file"
CORPUS = {
    # sounds: each message starts with the uploaded file's own name
    "nan-samples": (rank("nan.wav"), "nan.wav: 1 samples are NaN or infinite"),
    "inf-samples": (rank("inf.wav"), "inf.wav: 3 samples are NaN or infinite"),
    "100x-full-scale": (rank("loud100.wav"), "loud100.wav: samples reach 100, 100x full scale"),
    "1-hz-rate": (rank("onehz.wav"), "onehz.wav: a sample rate of 1 Hz is not a sound recording's"),
    "2-mhz-rate": (rank("fast.wav"), "fast.wav: a sample rate of 2000000 Hz"),
    "empty-file": (rank("empty.wav"), "empty.wav: the file is empty (0 bytes)"),
    "zero-samples": (rank("nosamples.wav"), "nosamples.wav: the audio is empty (zero samples)"),
    "truncated-header": (rank("header.wav"), f"header.wav: {UNREADABLE}"),
    "text-as-wav": (rank("notes.wav"), f"notes.wav: {UNREADABLE}"),
    "random-bytes-mp3": (rank("random.mp3"), f"random.mp3: {UNREADABLE}"),
    "no-suffix": (rank("recordings"), f"recordings: {UNREADABLE}"),
    "picture-as-sound": (rank("picture.png"), "picture.png: has no audio stream"),
    "too-short": (rank("click.wav"), "click.wav: only 100 samples at 16 kHz"),
    "64-channels": (rank("channels64.wav"), "channels64.wav: audio of shape (800, 64) has 64 channels"),
    "nan-generate": (generate("nan.wav"), "nan.wav: 1 samples are NaN"),
    "nan-volume-study": (volume_study(sound="nan.wav"), "nan.wav: 1 samples are NaN"),
    "1-hz-classify": (classify("onehz.wav"), "onehz.wav: a sample rate of 1 Hz"),
    "nan-level-preview": (level("nan.wav"), "nan.wav: 1 samples are NaN"),
    "empty-level-preview": (level("empty.wav"), "empty.wav: the file is empty"),
    "no-sound-rank": (rank(None), NO_SOUND),
    "no-sound-volume-study": (volume_study(sound=None), NO_SOUND),
    "no-sound-classify": (classify(None), NO_SOUND),
    "no-sound-no-prompt": (generate(None), NO_SOUND),
    # images
    "text-as-png": (rank(images=("fake.png",)), "fake.png: not a readable image (cannot identify the image format)"),
    "empty-png": (rank(images=("ok.png", "empty.png")), "empty.png: the file is empty (0 bytes)"),
    "truncated-jpg": (rank(images=("cut.jpg",)), "cut.jpg: not a readable image"),
    "decompression-bomb": (rank(images=("bomb.png",)), "bomb.png: 900,000,000 pixels is more than the 89,478,485"),
    "text-file-as-image": (rank(images=("notes.txt",)), "notes.txt: not an image file; expected one of"),
    "no-images": (rank(images=()), "Upload images to rank"),
    "bad-init-image": (generate(init="scribble.png"), "scribble.png: not a readable image"),
    "bomb-init-image": (generate(init="bomb.png"), "bomb.png: 900,000,000 pixels"),
    # numbers out of the app's limits, through the API
    "volume-1e9-db": (rank(volume=1e9), "volume 1e+09 dB is beyond ±120 dB"),
    "volume-30-db": (rank(volume=30), "Volume (dB): 30 is beyond this app's limit per request"),
    "volume-text": (rank(volume="loud"), "Volume (dB): 'loud' is not a finite number"),
    "level-volume-999": (level("ok.wav", 999), "volume 999 dB is beyond ±120 dB"),
    "steps-0": (generate(steps=0), "steps must be a whole number from 1 to 1000; got 0"),
    "steps-500": (generate(steps=500), "Steps: 500 is beyond this app's limit per request"),
    "steps-100000": (generate(steps=100000), "steps must be a whole number from 1 to 1000; got 100000"),
    "size-4": (generate(size=4), "size (px) must be a whole number from 8 to 1024; got 4"),
    "size-12": (generate(size=12), "Size (px): 12 is beyond this app's limit per request"),
    "size-100000": (generate(size=100000), "size (px) must be a whole number from 8 to 1024; got 100000"),
    "cutn-1000": (generate(cutn=1000), "cutouts must be a whole number from 1 to 64; got 1000"),
    "seed-2**80": (generate(seed=2**80), "the seed must be a whole number from 0 to 4294967295"),
    "lr-0": (generate(lr=0), "the learning rate must be a number above 0 and at most 10; got 0"),
    "lr-1e300": (generate(lr=1e300), "the learning rate must be a number above 0 and at most 10; got 1e+300"),
    "volume-study-steps-0": (volume_study(steps=0), "steps must be a whole number from 1 to 1000; got 0"),
    # volumes of the volume study
    "volume-nan": (volume_study("0 nan"), "volume 'nan': expected decibels"),
    "volume-inf": (volume_study("inf"), "volume 'inf': expected decibels"),
    "volume-1e999dB": (volume_study("1e999dB"), "volume '1e999dB': expected decibels"),
    "volume-5000-digits": (volume_study("9" * 5000), "volume inf dB is not a finite number"),
    "volume-200-db": (volume_study("200"), "volume 200 dB is beyond ±120 dB"),
    "volume-factor-0x": (volume_study("0x"), "volume '0x': a factor must be a positive finite number"),
    "too-many-volumes": (volume_study("0 " * 10), "Give 1 to 6 volumes, e.g. '-12 -6 0 6 12'; got 10."),
    "no-volumes": (volume_study(""), "Give 1 to 6 volumes"),
    "huge-volume-string": (volume_study("0 " * 100_000), "got 100000."),
    # prompt weights (text alone: no sound)
    "prompt-1e999": (generate(None, prompts="a red circle:1e999"), "weight '1e999' is not a finite number"),
    "prompt-nan": (generate(None, prompts="a:nan"), "prompt 'a:nan': weight 'nan' is not a finite number"),
    "prompt-inf": (generate(None, prompts="a:1 | b:inf"), "prompt 'b:inf': weight 'inf'"),
    "prompt-minus-inf": (generate(None, prompts="a:-inf"), "weight '-inf' is not a finite number"),
    # class lists
    "no-classes": (classify(classes=""), "Give at least one class name"),
    "only-commas": (classify(classes=" , ,\n,"), "Give at least one class name"),
    "501-classes": (classify(classes=",".join(f"c{i}" for i in range(501))), "At most 500 class names"),
}


@pytest.mark.parametrize("case", list(CORPUS))
def test_bad_input_gets_its_own_message(client, files, case):
    make, expected = CORPUS[case]
    api_name, args = make(files)
    try:
        answer = client.predict(*args, api_name=api_name)
    except Exception as err:  # noqa: BLE001 - gradio_client raises its AppError with the app's message
        message = str(err)
    else:
        assert api_name == "/level_view", f"accepted: {answer}"  # the live preview says what is wrong in its text
        message = answer[1]
    assert expected in message
    assert not any(bad in message for bad in FORBIDDEN), message


def test_server_still_answers_after_the_corpus(client, files):
    gallery, bars = client.predict(*rank()(files)[1], api_name="/rank")
    assert len(gallery) == 1 and len(bars["data"]) == 1
    image, _, curve, status = client.predict(*generate(steps=1)(files)[1], api_name="/generate")
    assert image and "final" in status
    _, text = client.predict(*level("ok.wav")(files)[1], api_name="/level_view")
    assert text.startswith("gain")


# ---------------------------------------------------------------- the library's checks (what the CLI shows too)
def test_load_audio_refuses_nan_absurd_rates_and_far_beyond_full_scale(tmp_path):
    wave = tone(seconds=0.5)
    with pytest.raises(InputError, match="8 samples are NaN or infinite"):
        load_audio((SR, np.where(np.arange(wave.size) % 1000 == 7, np.nan, wave)))
    with pytest.raises(InputError, match="a sample rate of 1 Hz is not a sound recording's"):
        load_audio((1, wave))
    path = tmp_path / "one.wav"
    sf.write(path, wave, 1)
    with pytest.raises(InputError, match=r"^one\.wav: a sample rate of 1 Hz"):
        load_audio(path, name="one.wav")
    with pytest.raises(InputError, match=r"samples reach 100, 100x full scale"):
        load_audio((SR, wave / np.abs(wave).max() * 100))
    loud = load_audio((SR, wave / np.abs(wave).max() * 3))  # 1x to 10x: kept, and the user is told
    assert np.abs(loud.waveform).max() == pytest.approx(3, rel=1e-3)
    assert any("3.00x full scale" in note for note in loud.notes)
    with pytest.raises(InputError, match="the audio is empty"):
        sf.write(tmp_path / "none.wav", np.zeros(0, np.float32), SR)
        load_audio(tmp_path / "none.wav")


def test_prompt_weights_must_be_finite():
    for bad in ("a:1e999", "a:nan", "a:inf", "a:-inf", "a:1e300"):
        with pytest.raises(InputError, match="is not a finite number"):
            parse_prompts(bad)
    assert parse_prompts("a:-2.5")[0].weight == -2.5


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_decompression_bomb_is_refused_by_name():
    with pytest.raises(InputError, match=r"^bomb\.png: 900,000,000 pixels .* decompression bomb"):
        load_image(png_header(30000, 30000), name="bomb.png")
    with pytest.raises(InputError, match="100,000,000 pixels"):  # PIL only warns at this size; we refuse
        load_image(png_header(10000, 10000), name="big.png")
