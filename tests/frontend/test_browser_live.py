"""The Live tab in a real browser (Chromium via Playwright) with its fake microphone playing a WAV that switches from
one toy class to another halfway (and loops): the live picture, judged by pixels, changes to the second class within
a bounded number of updates after the switch."""

from __future__ import annotations

import base64
import io
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from PIL import Image

from tests.frontend.test_browser import ARGS, ARTIFACTS, CHROMIUM, _open, app_url, driver  # noqa: F401 - fixtures
from wavbrivl.toyworld import CLASSES, ToyWorld
from wavbrivl.toyworld.judge import class_colour_index, judge

pytestmark = pytest.mark.slow

FIRST, SECOND = 0, 2  # red circle, then blue triangle
HALF = 3.0  # seconds of each class in the microphone's file
WITHIN = 20  # updates after the switch for the second class's picture (about 2 s at the page's pace on two cores)

# Notes, with the page's clock, every live picture (its src) and every new status line ("update N · ...").
# The recorder's first chunk is noted too (its page time, 0.1 s after the microphone's file started playing).
WATCH = """() => {
    window.__pictures = []; window.__updates = []; window.__first_chunk = undefined;
    if (!window.__hooked) {
        window.__hooked = true;
        const add = EventTarget.prototype.addEventListener;
        EventTarget.prototype.addEventListener = function (type, listener, options) {
            if (type !== "dataavailable") return add.call(this, type, listener, options);
            const noted = function (event) {
                if (window.__first_chunk === undefined) window.__first_chunk = performance.now();
                return listener.call(this, event);
            };
            return add.call(this, type, noted, options);
        };
    }
    new MutationObserver(() => {
        const shown = document.querySelector("#live-picture img");
        if (shown && shown.src !== (window.__pictures.at(-1) || [0, ""])[1])
            window.__pictures.push([performance.now(), shown.src]);
        const status = document.querySelector("#live-status");
        const line = status ? (status.innerText.match(/update \\d+ [^\\n]*/) || [""])[0] : "";
        if (line && line !== (window.__updates.at(-1) || [0, ""])[1]) window.__updates.push([performance.now(), line]);
    }).observe(document.body, {subtree: true, childList: true, attributes: true, characterData: true});
}"""


def switching_wav(path: Path, first: int = FIRST, second: int = SECOND, half: float = HALF) -> Path:
    """A 16 kHz 16-bit WAV: `half` seconds of one toy class, then `half` of another."""
    parts = [ToyWorld(3).example(i, label=label, level_db=-12).audio for label in (first, second)
             for i in range(int(half))]  # fmt: skip
    sf.write(path, np.concatenate(parts), 16000, subtype="PCM_16")
    return path


def fake_microphone(wav: Path) -> list[str]:
    """Chromium's flags for a microphone that plays `wav` (in a loop) and is allowed without asking."""
    return ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-audio-capture={wav}"]  # fmt: skip


def picture_class(src: str) -> int | None:
    """The toy class a data: URL picture shows (by pixels), or None when it shows none."""
    if not src.startswith("data:image"):
        return None
    return image_class(Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))))


def image_class(picture: Image.Image) -> int | None:
    """The toy class a picture shows (by pixels: shape and colour), or None when it shows none."""
    verdict = judge(picture)
    for label, toy in enumerate(CLASSES):
        if verdict.shape == toy.shape and verdict.colour == class_colour_index(label):
            return label
    return None


def start_recording(page) -> None:
    """Open the Live tab, start watching it and click Record."""
    page.get_by_role("tab", name="Live").click()
    page.evaluate(WATCH)
    page.locator("#live-mic").get_by_role("button", name="Record", exact=True).click()


def stop_recording(page) -> tuple[float | None, list, list]:
    """Click Stop; (page time in ms the microphone's file started, or None when not seen; the updates and the
    pictures, each with its page time)."""
    page.locator("#live-mic").get_by_role("button", name="Stop", exact=True).first.click()
    first = page.evaluate("() => window.__first_chunk")
    started = first - 100 if first is not None else None
    return started, page.evaluate("() => window.__updates"), page.evaluate("() => window.__pictures")


def record(page, seconds: float) -> tuple[float | None, list, list]:
    """Record for `seconds` on the Live tab: what stop_recording says."""
    start_recording(page)
    time.sleep(seconds)
    return stop_recording(page)


def switches(started: float | None, updates: list, pictures: list, half: float = HALF) -> list[dict]:
    """Each change of class in the looping file, as the page saw it (the file started at `started`, else 0.1 s
    before the first update): its page time, the updates until the new class's picture, and the seconds."""
    start = started if started is not None else updates[0][0] - 100
    shown = [(t, picture_class(src)) for t, src in pictures]
    found = []
    for n in range(1, 100):
        at, label = start + n * half * 1000, SECOND if n % 2 else FIRST
        if at > updates[-1][0]:
            break
        after = [t for t, seen in shown if t >= at and seen == label]
        if after:
            found.append({"at": at, "updates": sum(1 for t, _ in updates if at <= t <= after[0]),
                          "seconds": (after[0] - at) / 1000, "label": label})  # fmt: skip
    return found


def test_the_live_picture_follows_the_microphone(app_url, driver, tmp_path):  # noqa: F811 - the fixtures
    wav = switching_wav(tmp_path / "switch.wav")
    browser = driver.chromium.launch(executable_path=CHROMIUM, args=ARGS + fake_microphone(wav))
    page = _open(browser, app_url)
    try:
        started, updates, pictures = record(page, 2 * HALF + 2.5)  # the first class, the second, and the first again
        page.screenshot(path=str(ARTIFACTS / "live.png"), full_page=True)
        assert len(updates) >= 10, updates
        classes = [picture_class(src) for _, src in pictures]
        assert FIRST in classes, classes
        found = switches(started, updates, pictures)
        assert found and found[0]["label"] == SECOND, (found, classes)
        assert found[0]["updates"] <= WITHIN, found
        assert "red circle" in page.locator("#live-timeline").inner_text()
        assert "blue triangle" in page.locator("#live-timeline").inner_text()
    except BaseException:
        page.screenshot(path=str(ARTIFACTS / "live-failed.png"), full_page=True)
        raise
    finally:
        browser.close()
