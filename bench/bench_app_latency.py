"""The app in a real browser against the pipeline itself: seconds from the Generate click to the final picture on
the page, for each method at the offline default's settings, beside the pipeline's own time for the same request
(load the sound, embed it, generate). Needs Debian's Chromium (see scripts/test.sh). One run, one machine.

    python -m bench.bench_app_latency [--repeat 3]
"""

from __future__ import annotations

import argparse
import time

import httpx
import psutil
import torch

from bench.common import machine, timed
from tests.frontend.test_browser import ARGS, CHROMIUM, EXAMPLES, _open, _peak, _wait_for

SOUND = EXAMPLES / "red-circle_-12dB.wav"
METHOD_LABELS = {"decoder": "Decoder (one sampling pass)", "vqgan": "VQGAN optimisation (the paper's method)"}


# Installed before each click: the page itself notes when the click lands and when the awaited text first appears
# (a MutationObserver, so no polling period is added and no layout is forced at every frame: this browser shares
# the server's two cores, so the instrument must not compete with the model).
WATCH = """t => {
    window.__clicked = window.__shown = undefined;
    document.addEventListener("click", () => { window.__clicked = performance.now(); }, {capture: true, once: true});
    const seen = new MutationObserver(() => {
        if (document.body.textContent.includes(t)) { window.__shown = performance.now(); seen.disconnect(); }
    });
    seen.observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


def click_to_final(page, method: str, seed: int) -> float:
    """Seconds from clicking Generate (with this seed) to the page showing that request's final picture."""
    page.get_by_label(METHOD_LABELS[method]).check()
    field = page.get_by_label("Seed (-1: random)")
    field.fill(str(seed))
    field.press("Enter")
    page.evaluate(WATCH, f"seed {seed} — final, {method}")
    page.get_by_role("button", name="Generate", exact=True).click()
    page.wait_for_function("() => window.__shown !== undefined", polling=200, timeout=300_000)
    return page.evaluate("() => (window.__shown - window.__clicked) / 1000")


def http_click_to_final(url: str, sound: dict, config, seed: int) -> float:
    """The same request through Gradio's HTTP API with no browser (no page to render on these cores): seconds
    from the call to the stream's last message."""
    data = [sound, 0.0, config.steps, seed, config.size, config.lr, config.cutn, None, "", config.method,
            config.sample_steps, config.guidance_scale, config.noise_level]  # fmt: skip
    start = time.perf_counter()
    event = httpx.post(f"{url}/gradio_api/call/generate", json={"data": data}).json()["event_id"]
    with httpx.stream("GET", f"{url}/gradio_api/call/generate/{event}", timeout=300) as stream:
        text = "".join(stream.iter_text())
    if f"seed {seed} \\u2014 final, {config.method}" not in text:  # JSON-escaped em dash
        raise RuntimeError(f"no final picture in the stream: {text[-300:]}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="torch threads while the app serves (default: all)")
    parser.add_argument("--methods", nargs="+", default=["decoder", "vqgan"], choices=["decoder", "vqgan"])
    parser.add_argument("--nice-browser", action="store_true",
                        help="lowest CPU priority for the browser's processes: a visitor's browser is not on the "
                             "server's cores (the figures then say what the server adds)")  # fmt: skip
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    import app
    from wavbrivl import WavBriVLPipeline, load_audio
    from wavbrivl.frontend.common import APP_CSS
    from wavbrivl.frontend.model_thread import MODEL_THREAD, ONE_THREAD_METHODS

    # the app's model thread loads and runs the set, and the pipeline's own time is taken there too: nothing else in
    # this process runs torch (wavbrivl/frontend/model_thread.py says why)
    pipe = MODEL_THREAD.call(WavBriVLPipeline.from_preset, device="cpu")
    threads = MODEL_THREAD.call(torch.get_num_threads)
    demo = app.build_app(pipe)
    demo.queue().launch(server_name="127.0.0.1", prevent_thread_lock=True, quiet=True, css=APP_CSS)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = _open(browser, demo.local_url)
            if args.nice_browser:
                for child in psutil.Process().children(recursive=True):
                    child.nice(19)
            page.locator("#sound input[type=file]").set_input_files(str(SOUND))
            _wait_for(lambda: _peak(page) is not None, what="the upload")
            page.get_by_role("tab", name="Generate").click()
            url = demo.local_url.rstrip("/")
            with open(SOUND, "rb") as f:
                uploaded = httpx.post(f"{url}/gradio_api/upload", files={"files": (SOUND.name, f)}).json()[0]
            sound = {"path": uploaded, "meta": {"_type": "gradio.FileData"}, "orig_name": SOUND.name}
            for method in args.methods:
                config = pipe.generation_config(method=method, seed=100)
                MODEL_THREAD.call(torch.set_num_threads, threads)  # the pipeline alone: every core
                own = MODEL_THREAD.call(
                    timed, lambda c=config: pipe.generate_final(load_audio(SOUND), 0.0, c), repeat=args.repeat
                )
                # the app serving (its decoder streams take one thread of their own: wavbrivl/frontend/model_thread.py)
                MODEL_THREAD.call(torch.set_num_threads, args.threads or threads)
                seeds = range(100, 100 + args.repeat) if method == "decoder" else range(200, 200 + args.repeat)
                shown = min(click_to_final(page, method, seed) for seed in seeds)
                bar = max(1.3 * own, own + 0.5)
                http = min(http_click_to_final(url, sound, config, seed + 50) for seed in seeds)
                niced = ", browser niced" if args.nice_browser else ""
                serving = 1 if method in ONE_THREAD_METHODS else MODEL_THREAD.call(torch.get_num_threads)
                print(
                    f"{method} ({serving} threads serving{niced}): app click->final {shown:.2f} s "
                    f"(best of {args.repeat}), pipeline {own:.2f} s, ratio {shown / own:.2f}x, bar {bar:.2f} s: "
                    f"{'met' if shown <= bar else 'NOT met'}; through the HTTP API with no browser {http:.2f} s "
                    f"({http / own:.2f}x): {'met' if http <= bar else 'NOT met'}"
                )
            browser.close()
    finally:
        demo.close()
    print(machine())


if __name__ == "__main__":
    main()
