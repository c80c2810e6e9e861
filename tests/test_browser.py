"""A real browser (Chromium via Playwright) drives the app: upload, volume, rank, generate, volume study, classify."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(os.environ.get("WAVBRIVL_ARTIFACTS", Path(__file__).resolve().parents[1] / "artifacts"))
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


@pytest.fixture(scope="module")
def app_url():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing: .ci/run must install it (apt-get install chromium)")
        pytest.skip("Chromium is not installed here")
    import app
    from wavbrivl import WavBriVLPipeline

    pipe = WavBriVLPipeline.from_preset(device="cpu")  # the offline default the README describes
    demo = app.build_app(pipe)
    demo.queue().launch(server_name="127.0.0.1", server_port=None, prevent_thread_lock=True, quiet=True)
    try:
        yield demo.local_url
    finally:
        demo.close()


def _wait_for(predicate, timeout: float = 60.0, what: str = "condition") -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def test_browser_walkthrough(app_url, tmp_path):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    wav = Path(__file__).resolve().parents[1] / "assets" / "examples" / "red-circle_-12dB.wav"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1400})
        page.goto(app_url)
        page.wait_for_selector("text=WavBriVL", timeout=30000)
        page.locator("#sound input[type=file]").set_input_files(str(wav))
        _wait_for(lambda: "peak" in page.inner_text("body"), what="the peak view after upload")
        slider = page.get_by_label("Volume (dB)").first
        slider.fill("12")
        slider.press("Enter")
        _wait_for(lambda: "gain +12 dB" in page.inner_text("body"), what="the gain readout to follow the slider")

        page.get_by_role("button", name="Rank images by the sound").click()
        _wait_for(lambda: "#1" in page.inner_text("body"), what="ranked gallery captions")
        page.screenshot(path=str(ARTIFACTS / "rank.png"), full_page=True)

        page.get_by_role("tab", name="Generate").click()
        steps = page.get_by_label("Steps").first
        steps.fill("12")
        steps.press("Enter")
        page.get_by_role("button", name="Generate", exact=True).click()
        seen: set[str] = set()

        def progressed() -> bool:
            text = page.inner_text("body")
            for line in text.splitlines():
                if line.startswith("seed ") and "step" in line:
                    seen.add(line.split("—")[1].split(",")[0].strip())
            return "final" in text and "seed 0" in text

        _wait_for(progressed, timeout=120, what="the generation to finish")
        assert len(seen) >= 3, seen  # per-step updates reached the page while it ran
        assert page.locator("img").count() > 3
        page.screenshot(path=str(ARTIFACTS / "generate.png"), full_page=True)

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
