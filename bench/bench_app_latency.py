"""The app in a real browser against the pipeline itself: seconds from the Generate click to the final picture on
the page, for each method at the offline default's settings, beside the pipeline's own time for the same request
(load the sound, embed it, generate). Needs Debian's Chromium (see scripts/test.sh). One run, one machine.

    python -m bench.bench_app_latency [--repeat 3]
"""

from __future__ import annotations

import argparse
import time

import torch

from bench.common import machine, timed
from tests.frontend.test_browser import ARGS, CHROMIUM, EXAMPLES, _open, _peak, _wait_for

SOUND = EXAMPLES / "red-circle_-12dB.wav"
METHOD_LABELS = {"decoder": "Decoder (one sampling pass)", "vqgan": "VQGAN optimisation (the paper's method)"}


def click_to_final(page, method: str, seed: int) -> float:
    """Seconds from clicking Generate (with this seed) to the page showing that request's final picture."""
    page.get_by_label(METHOD_LABELS[method]).check()
    field = page.get_by_label("Seed (-1: random)")
    field.fill(str(seed))
    field.press("Enter")
    start = time.perf_counter()
    page.get_by_role("button", name="Generate", exact=True).click()
    # watched inside the page on each change of the page (no polling period to add, and no layout forced at every
    # frame: this browser shares the server's two cores, so the instrument must not compete with the model)
    page.wait_for_function("t => document.body.textContent.includes(t)", arg=f"seed {seed} — final, {method}",
                           polling="mutation", timeout=300_000)  # fmt: skip
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="torch threads while the app serves (default: all)")
    parser.add_argument("--methods", nargs="+", default=["decoder", "vqgan"], choices=["decoder", "vqgan"])
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    import app
    from wavbrivl import WavBriVLPipeline, load_audio

    pipe = WavBriVLPipeline.from_preset(device="cpu")
    threads = torch.get_num_threads()
    demo = app.build_app(pipe)
    demo.queue().launch(server_name="127.0.0.1", prevent_thread_lock=True, quiet=True, css=app.APP_CSS)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = _open(browser, demo.local_url)
            page.locator("#sound input[type=file]").set_input_files(str(SOUND))
            _wait_for(lambda: _peak(page) is not None, what="the upload")
            page.get_by_role("tab", name="Generate").click()
            for method in args.methods:
                config = pipe.generation_config(method=method, seed=100)
                torch.set_num_threads(threads)  # the pipeline alone: every core
                own = timed(lambda c=config: pipe.generate_final(load_audio(SOUND), 0.0, c), repeat=args.repeat)
                torch.set_num_threads(args.threads or threads)  # the app serving
                seeds = range(100, 100 + args.repeat) if method == "decoder" else range(200, 200 + args.repeat)
                shown = min(click_to_final(page, method, seed) for seed in seeds)
                bar = max(1.3 * own, own + 0.5)
                print(
                    f"{method} ({torch.get_num_threads()} threads serving): app click->final {shown:.2f} s "
                    f"(best of {args.repeat}), pipeline {own:.2f} s, "
                    f"ratio {shown / own:.2f}x, bar {bar:.2f} s: {'met' if shown <= bar else 'NOT met'}"
                )
            browser.close()
    finally:
        demo.close()
    print(machine())


if __name__ == "__main__":
    main()
