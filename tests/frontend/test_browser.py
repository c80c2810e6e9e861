"""A real browser (Chromium via Playwright) drives the app: upload, volume, rank, generate, volume study, classify;
every sound format a user brings, and a recording from a (fake) microphone, with no ffmpeg program."""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.helpers.sound_formats import FORMATS, forbid_ffmpeg, write_sound
from wavbrivl.toyworld.world import CLASSES, ToyWorld

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(os.environ.get("WAVBRIVL_ARTIFACTS", Path(__file__).resolve().parents[2] / "artifacts"))
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
EXAMPLES = Path(__file__).resolve().parents[2] / "assets" / "examples"
READOUT = re.compile(r"gain [+-]\d+ dB = ×\d+\.\d\d, peak (\d+\.\d\d)")  # the app's level readout of the Sound box
ERROR_TOAST = '[data-testid="toast-body"].error'
# Gradio 6.31's Audio upload takes a file only by an audio/* MIME type, and Chromium names these files by their
# video type (video/webm, video/mp4): the Sound box itself refuses them ("Invalid file type"), so the app has a
# button beside it ("Upload a video or a webm / mp4 / m4a sound") that puts such a file into the Sound box.
THROUGH_THE_FILE_BUTTON = {"toy.webm", "toy.mp4", "toy-video.mp4"}


class RefusedUpload(AssertionError):
    """The page would not take the file (Gradio's own check of its type), so the app never saw it."""


@pytest.fixture(scope="module")
def app_url():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing: .ci/run must install it (apt-get install chromium)")
        pytest.skip("Chromium is not installed here")
    import app
    from wavbrivl import WavBriVLPipeline
    from wavbrivl.frontend.common import APP_CSS

    pipe = WavBriVLPipeline.from_preset(device="cpu")  # the offline default the README describes
    demo = app.build_app(pipe)
    demo.queue().launch(server_name="127.0.0.1", server_port=None, prevent_thread_lock=True, quiet=True, css=APP_CSS)
    try:
        yield demo.local_url
    finally:
        demo.close()


@pytest.fixture(scope="module")
def driver(app_url):
    """One Playwright driver for the module (its sync API cannot run two at once)."""
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        yield playwright


def _open(browser, url: str):
    page = browser.new_page(viewport={"width": 1280, "height": 1400})
    page.goto(url)
    page.wait_for_selector("text=WavBriVL", timeout=30000)
    return page


def _wait_for(predicate, timeout: float = 60.0, what: str = "condition") -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def _peak(page) -> float | None:
    """The peak the app's readout shows for the sound in the Sound box (None while it shows none)."""
    found = READOUT.search(page.inner_text("body"))
    return float(found.group(1)) if found else None


def _top(page) -> tuple[str, str]:
    """The file name and caption of the best-ranked picture (empty before any ranking)."""
    image = page.locator("img[alt^='#1 ']").first
    if not image.count():
        return "", ""
    return (image.get_attribute("src") or "").rsplit("/", 1)[-1], image.get_attribute("alt") or ""


def _no_error(page) -> bool:
    """True; fails at once, with its words, when the page shows an error or refuses an upload."""
    errors = page.locator(ERROR_TOAST)
    if errors.count():
        raise AssertionError(f"the app showed an error: {errors.first.inner_text()!r}")
    refused = page.locator('[data-testid="toast-body"]', has_text="Invalid file type")
    if refused.count():
        raise RefusedUpload(f"the page refused the upload: {refused.first.inner_text()!r}")
    return True


def _close_toasts(page) -> None:
    """Close the messages left from before (one may close itself meanwhile)."""
    from playwright.sync_api import Error as PlaywrightError

    for close in page.locator('[data-testid="toast-close"]').all():
        try:
            close.click(timeout=2000)
        except PlaywrightError:
            pass
    _wait_for(lambda: not page.locator('[data-testid="toast-body"]').count(), 10, what="the messages to close")


def _rank(page, before: tuple[str, str]) -> str:
    """Click Rank and wait for a new best picture; its file name."""
    page.get_by_role("button", name="Rank images by the sound").click()
    _wait_for(lambda: _no_error(page) and _top(page) not in (before, ("", "")), what="a new ranking")
    return _top(page)[0]


def _shown(label: int) -> str:
    """How the example gallery names a class's pictures (red-circle_large.png)."""
    return CLASSES[label].name.replace(" ", "-") + "_"


# Notes every picture the Generate tab's current-step view shows (its src), as the page shows it.
PICTURES_SHOWN = """() => {
    window.__steps = [];
    new MutationObserver(() => {
        const shown = document.querySelector("#current-step img");
        if (shown && shown.src !== window.__steps.at(-1)) window.__steps.push(shown.src);
    }).observe(document.body, {subtree: true, childList: true, attributes: true, attributeFilter: ["src"]});
}"""


def test_browser_walkthrough(app_url, driver):
    wav = EXAMPLES / "red-circle_-12dB.wav"
    browser = driver.chromium.launch(executable_path=CHROMIUM, args=ARGS)
    page = _open(browser, app_url)
    page.locator("#sound input[type=file]").set_input_files(str(wav))
    _wait_for(lambda: _peak(page) is not None, what="the peak view after upload")
    slider = page.get_by_label("Volume (dB)").first
    slider.fill("12")
    slider.press("Enter")
    _wait_for(lambda: "gain +12 dB" in page.inner_text("body"), what="the gain readout to follow the slider")

    page.get_by_role("button", name="Rank images by the sound").click()
    _wait_for(lambda: "#1" in page.inner_text("body"), what="ranked gallery captions")
    page.screenshot(path=str(ARTIFACTS / "rank.png"), full_page=True)

    page.get_by_role("tab", name="Generate").click()
    for method in ("decoder", "vqgan"):  # the set's default (its decoder), then the paper's optimisation
        if method == "vqgan":
            page.get_by_label("VQGAN optimisation (the paper's method)").check()
            # an input: the decoder's step film lists files named "steps-00000.webp", which the label also matches
            steps = page.get_by_label("Steps").and_(page.locator("input")).first
            steps.fill("12")
            steps.press("Enter")
        page.evaluate(PICTURES_SHOWN)
        page.get_by_role("button", name="Generate", exact=True).click()
        _wait_for(
            lambda m=method: f"seed 0 — final, {m}" in page.inner_text("body"),
            timeout=120,
            what=f"the {method} generation to finish",
        )
        steps = page.evaluate("() => window.__steps")  # each step's picture reached the page while it ran
        assert len([s for s in steps if s.startswith("data:image/png")]) >= 3, steps
        assert "/file=" in steps[-1]  # the final picture is a file, to keep
        assert page.locator("img").count() > 3
        page.screenshot(path=str(ARTIFACTS / f"generate-{method}.png"), full_page=True)

    page.get_by_label("Decoder (one sampling pass)").check()  # the study uses the Generate tab's method
    page.get_by_role("tab", name="Volume study").click()
    page.get_by_role("button", name="Generate side by side (one batch, one seed)").click()
    _wait_for(
        lambda: page.inner_text("body").count("dB (×") >= 5 and "final" in page.inner_text("body"),
        timeout=180,
        what="five volumes side by side",
    )
    page.screenshot(path=str(ARTIFACTS / "volume-study.png"), full_page=True)

    page.get_by_role("tab", name="Classify").click()
    page.get_by_role("button", name="Classify the sound").click()
    _wait_for(lambda: "Best match: red circle" in page.inner_text("body"), what="the zero-shot answer")
    page.screenshot(path=str(ARTIFACTS / "classify.png"), full_page=True)
    browser.close()


@pytest.fixture(scope="module")
def upload_page(app_url, driver):
    """One page for the formats, each uploaded in turn into the same Sound box (as a user would)."""
    browser = driver.chromium.launch(executable_path=CHROMIUM, args=ARGS)
    shared = SimpleNamespace(page=_open(browser, app_url), top=("", ""))  # top: the last ranking's best picture
    yield shared
    shared.page.screenshot(path=str(ARTIFACTS / "formats.png"), full_page=True)
    browser.close()


@pytest.mark.parametrize("name", list(FORMATS))
def test_every_format_uploads_and_ranks_in_the_browser(upload_page, name, tmp_path, monkeypatch):
    """A format through the Sound box: decoded (the level readout), then ranked by its own class, no ffmpeg program.

    Each format carries another toy class than the one before it, so the ranking is seen to change.
    """
    page = upload_page.page
    sound = page.locator("#sound")
    label = list(FORMATS).index(name) % len(CLASSES)
    example = ToyWorld(0).example(label, label=label, level_db=-12)  # peak 10^(-12/20) = 0.25
    path = write_sound(tmp_path / name, name, example.audio, example.image)
    forbid_ffmpeg(monkeypatch)  # the app is served by this process: it decodes every upload without ffmpeg
    try:
        _close_toasts(page)
        clear = sound.get_by_role("button", name="Clear")
        if clear.count():
            clear.click()
            _wait_for(lambda: _peak(page) is None, what="the Sound box to clear")
        if name in THROUGH_THE_FILE_BUTTON:
            with page.expect_file_chooser() as chooser:
                page.locator("#sound-file").click()
            chooser.value.set_files(str(path))
        else:
            sound.locator("input[type=file]").set_input_files(str(path))
        _wait_for(lambda: _no_error(page) and _peak(page) is not None, what=f"{name} decoded by the app")
        peak = _peak(page)  # lossy codecs overshoot a little
        assert 0.2 <= peak <= 0.4, f"{name}: the app read peak {peak}, the file has 0.25"
        assert sound.locator("a[data-testid=download-link]").get_attribute("href").endswith("/" + name)
        best = _rank(page, upload_page.top)
        upload_page.top = _top(page)
        assert best.startswith(_shown(label)), f"{name} ({CLASSES[label].name}) ranked {best} first"
    except BaseException:
        page.screenshot(path=str(ARTIFACTS / f"formats-{name}-failed.png"), full_page=True)
        raise


def test_microphone_recording_ranks(app_url, driver, monkeypatch):
    """Record 2 s from Chromium's fake microphone, which plays a toy sound: the app decodes and ranks the recording."""
    toy = EXAMPLES / "red-circle_-12dB.wav"  # 16 kHz 16-bit: Chromium resamples it, and loops it while recording
    fake_microphone = [
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={toy}",
    ]
    browser = driver.chromium.launch(executable_path=CHROMIUM, args=ARGS + fake_microphone)
    forbid_ffmpeg(monkeypatch)
    page = _open(browser, app_url)
    sound = page.locator("#sound")
    try:
        sound.get_by_role("button", name="Record audio").click()
        sound.get_by_role("button", name="Record", exact=True).click()
        time.sleep(2)
        sound.get_by_role("button", name="Stop", exact=True).first.click()
        # the browser uploads the recording as a wav at its own rate; the app decodes (and resamples) it
        _wait_for(lambda: _no_error(page) and _peak(page) is not None, what="the recording decoded by the app")
        assert sound.locator("a[data-testid=download-link]").get_attribute("href").endswith(".wav")
        # not silent; its level is the browser's (getUserMedia's gain control raises the file's 0.25 peak)
        assert _peak(page) >= 0.1, page.inner_text("body")
        best = _rank(page, ("", ""))
        # the recorded sound is the toy's: Chromium's own fake microphone (a beep) ranks a yellow bar first
        assert best.startswith(_shown(0)), f"the recorded red circle sound ranked {best} first"
        page.screenshot(path=str(ARTIFACTS / "microphone.png"), full_page=True)
    except BaseException:
        page.screenshot(path=str(ARTIFACTS / "microphone-failed.png"), full_page=True)
        raise
    finally:
        browser.close()
