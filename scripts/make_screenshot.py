"""docs/screenshot.png: the app on the offline default in Chromium, ranking the example gallery by an example sound.

It drives the page as the browser test does (its helpers), so the picture is of today's app and today's world.
Needs Debian's Chromium (scripts/test.sh installs it). Run: `.venv/bin/python scripts/make_screenshot.py [out.png]`.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.frontend.test_browser import ARGS, CHROMIUM, EXAMPLES, _open, _peak, _wait_for  # noqa: E402

SOUND = EXAMPLES / "red-circle_-12dB.wav"


def main(out: Path) -> None:
    from playwright.sync_api import sync_playwright

    import app
    from wavbrivl import WavBriVLPipeline
    from wavbrivl.frontend.common import APP_CSS

    demo = app.build_app(WavBriVLPipeline.from_preset(device="cpu"))
    demo.queue().launch(server_name="127.0.0.1", prevent_thread_lock=True, quiet=True, css=APP_CSS)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = _open(browser, demo.local_url)
            page.set_viewport_size({"width": 1280, "height": 1600})
            page.locator("#sound input[type=file]").set_input_files(str(SOUND))
            _wait_for(lambda: _peak(page) is not None, what="the sound's peak view")
            page.get_by_role("button", name="Rank images by the sound").click()
            _wait_for(lambda: "#1" in page.inner_text("body"), what="the ranked gallery")
            page.wait_for_timeout(500)  # the gallery's pictures finish loading
            page.evaluate("window.scrollTo(0, 0)")
            page.screenshot(path=str(out), full_page=False)
            browser.close()
    finally:
        demo.close()
    print(f"wrote {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "screenshot.png")
