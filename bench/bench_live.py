"""The Live tab in Chromium with its fake microphone, on the offline default served by `app.py` in a process of its
own: updates per second (bar: at least 2) and seconds from each change of class in the sound to the new class's
picture on the page (bar: at most 1 s). Then five recordings at once for 60 s through the app's own Live handler in
this process (each sends a 0.1 s chunk every 0.1 s of wall time, as a page does), with the app served and asked to
classify a sound every 2 s meanwhile, and this process's resident memory each second: five Chromium pages would
spend these two cores on drawing the pages rather than on the server. Needs Debian's Chromium (see scripts/test.sh).
One run, one machine.

    python -m bench.bench_live [--seconds 24] [--sessions 5] [--load-seconds 60]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import numpy as np
import psutil
import soxr

from bench.common import machine
from tests.frontend.test_browser import ARGS, CHROMIUM
from tests.frontend.test_browser_live import (
    FIRST,
    HALF,
    SECOND,
    fake_microphone,
    image_class,
    record,
    switches,
    switching_wav,
)
from tests.frontend.test_live import RATE, page_chunks, switching_sound

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

ROOT = Path(__file__).resolve().parents[1]


def busy_share(seconds: float = 3.0) -> float:
    """The share of the machine's CPU time that was busy over `seconds` (with this benchmark idle: other jobs')."""

    def read() -> tuple[int, int]:
        """All and idle jiffies so far."""
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        return sum(values), values[3] + values[4]  # all, idle + iowait

    (total, idle), _ = read(), time.sleep(seconds)
    total2, idle2 = read()
    return 1 - (idle2 - idle) / max(1, total2 - total)


def serve() -> tuple[str, subprocess.Popen]:
    """The app on the offline default (CPU) on a free loopback port, as scripts/app.sh starts it."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
    env.setdefault("MALLOC_ARENA_MAX", "2")
    proc = subprocess.Popen([sys.executable, "app.py", "--port", str(port), "--device", "cpu"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    url = f"http://127.0.0.1:{port}/"
    for _ in range(180):
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return url, proc
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    proc.kill()
    raise RuntimeError("the app did not start within 90 s")


def summary(started: float | None, updates: list, pictures: list) -> dict:
    """One recording's figures: updates per second, the switches seen, the pictures, the sound heard."""
    if len(updates) < 2:
        return {"updates": len(updates), "per_second": 0.0, "span": 0.0, "heard": 0.0, "switches": [],
                "pictures": len(pictures)}  # fmt: skip
    span = (updates[-1][0] - updates[0][0]) / 1000
    heard = float(updates[-1][1].split(" · ")[1].split(" s")[0])
    return {"updates": len(updates), "per_second": (len(updates) - 1) / span, "span": span, "heard": heard,
            "switches": switches(started, updates, pictures), "pictures": len(pictures)}  # fmt: skip


def open_page(browser: Browser, url: str) -> Page:
    """A fresh page of the app, in a browser context of its own (its own session, as another visitor's)."""
    page = browser.new_context(viewport={"width": 1280, "height": 1400}).new_page()
    page.goto(url)
    page.wait_for_selector("text=WavBriVL", timeout=60000)
    return page


def one_page(playwright, url: str, wav: Path, seconds: float) -> dict:
    """One page recording for `seconds`: its summary."""
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS + fake_microphone(wav))
    try:
        return summary(*record(open_page(browser, url), seconds))
    finally:
        browser.close()


def latency_run(playwright, url: str, wav: Path, seconds: float) -> None:
    """One page: the update rate and each switch's latency."""
    result = one_page(playwright, url, wav, seconds)
    found = result["switches"]
    print(f"one page, {seconds:g} s: {result['updates']} updates in {result['span']:.1f} s = "
          f"{result['per_second']:.2f} updates/s (bar >= 2); {result['pictures']} pictures; sound heard "
          f"{result['heard']:.1f} s of {result['span']:.1f} s (chunks that arrive while a picture is drawn are "
          "skipped but the latest)")  # fmt: skip
    seconds_seen = [s["seconds"] for s in found]
    print(f"switches seen: {len(found)}; seconds from the change in the sound to the new class's picture: "
          f"{', '.join(f'{s:.2f}' for s in seconds_seen)}")  # fmt: skip
    if seconds_seen:
        print(f"  median {statistics.median(seconds_seen):.2f} s, max {max(seconds_seen):.2f} s (bar <= 1 s); "
              f"updates per switch {[s['updates'] for s in found]}")  # fmt: skip


def paced_session(live, sound: np.ndarray, seconds: float, seed: int, out: dict) -> None:
    """One recording for `seconds` of wall time: every 0.1 s the latest 0.1 s of a looping sound, as a page sends
    it (48 kHz stereo int16); a chunk that came due while the handler ran is skipped, as Gradio skips it. Notes the
    updates, the pictures and, per change of class in the sound, the seconds until the handler returned a picture of
    the new class."""
    loud = (soxr.resample(sound, 16000, RATE) * 32767).astype(np.int16)
    step, session, began = RATE // 10, None, time.monotonic()
    changes, shown, pictures = [], None, 0
    while (now := time.monotonic() - began) < seconds:
        k = int(now * 10)  # the latest whole chunk
        part = np.take(loud, range(k * step, (k + 1) * step), mode="wrap")
        *_, session = live((RATE, np.stack([part, part], 1)), session, 0, seed)
        if session.pictures != pictures:
            pictures = session.pictures
            label = image_class(session.drawn.picture)
            if label != shown and label is not None:
                changes.append((time.monotonic() - began, label))
                shown = label
        time.sleep(max(0.0, (k + 1) / 10 - (time.monotonic() - began)))
    half = len(sound) / 2 / 16000
    latencies = []
    for n in range(1, int(seconds / half)):
        at, label = n * half, SECOND if n % 2 else FIRST
        later = [t for t, seen in changes if t >= at and seen == label]
        if later and later[0] < at + half:
            latencies.append(later[0] - at)
    out.update(updates=session.updates, pictures=session.pictures, latencies=latencies,
               timeline=len(session.timeline), heard=session.window.heard_seconds)  # fmt: skip


def handler_costs(pipe, updates: int = 20) -> tuple[float, float]:
    """Median seconds of one Live update in this process with no new picture and with one (a new seed each time)."""
    from wavbrivl.frontend.live import LiveModels, live_handler
    from wavbrivl.frontend.model_thread import OnModelThread
    from wavbrivl.frontend.tabs import Shared

    pipe = OnModelThread(pipe)
    shared = Shared(pipe, None, None, 30, {}, pipe.generation_config(), "")
    live = live_handler(shared, LiveModels(pipe, []), clock=lambda: 0.0)
    chunks = page_chunks(switching_sound(FIRST, FIRST, HALF), 0.1)
    session, kept, drawn = None, [], []
    for n, chunk in enumerate(chunks[: 2 * updates + 10]):
        seed = 0 if n < updates + 10 else n  # a steady tone, then a new seed at every update
        began = time.perf_counter()
        *_, session = live(chunk, session, 0, seed)
        if n >= 10:  # the window full
            (kept if n < updates + 10 else drawn).append(time.perf_counter() - began)
    return statistics.median(kept), statistics.median(drawn)


def load_run(sessions: int, seconds: float) -> None:
    """`sessions` recordings at once for `seconds` through the app's own Live handler, in this process, with the app
    served meanwhile and asked to classify a sound every 2 s; this process's resident memory each second."""
    from gradio_client import Client, handle_file

    import app
    from wavbrivl import WavBriVLPipeline
    from wavbrivl.frontend.model_thread import MODEL_THREAD

    pipe = MODEL_THREAD.call(WavBriVLPipeline.from_preset, device="cpu")  # as app.py loads it on the CPU
    demo = app.build_app(pipe)
    demo.queue(default_concurrency_limit=4, max_size=64).launch(server_name="127.0.0.1", server_port=None,
                                                                prevent_thread_lock=True, quiet=True)  # fmt: skip
    live = next(f.fn for f in demo.fns.values() if f.api_name == "live")
    kept, drawn = handler_costs(pipe)
    print(f"one update in this process, alone: {kept * 1000:.0f} ms keeping the picture, {drawn:.2f} s drawing one")
    client, wav = Client(demo.local_url, verbose=False), str(ROOT / "assets" / "examples" / "red-circle_-12dB.wav")
    process, rss, answers, results = psutil.Process(), [], [], [{} for _ in range(sessions)]
    pairs = [(FIRST, SECOND)] * sessions
    sounds = [switching_sound(a, b, HALF, seed=20 + n) for n, (a, b) in enumerate(pairs)]
    threads = [threading.Thread(target=paced_session, args=(live, sounds[n], seconds, n, results[n]))
               for n in range(sessions)]  # fmt: skip
    try:
        for thread in threads:
            thread.start()
        began = time.monotonic()
        while any(thread.is_alive() for thread in threads):
            rss.append(process.memory_info().rss / 2**20)
            if len(rss) % 2 == 0 and time.monotonic() - began < seconds:
                asked = time.monotonic()
                bars, _ = client.predict(handle_file(wav), 0, "red circle, blue triangle", "{}", api_name="/classify")
                answers.append((time.monotonic() - asked, bars["data"][0][0]))
            time.sleep(1)
    finally:
        demo.close()
    print(f"{sessions} recordings at once for {seconds:g} s (each a 0.1 s chunk every 0.1 s, {HALF:g} s of red circle "
          f"then {HALF:g} s of blue triangle), through the app's own handler with the app served:")  # fmt: skip
    for n, result in enumerate(results):
        lat = result["latencies"]
        print(
            f"  session {n}: {result['updates']} updates ({result['updates'] / seconds:.1f}/s), {result['pictures']} "
            f"pictures, timeline {result['timeline']} moments, sound heard {result['heard']:.0f} s; change of class "
            f"to picture: median {statistics.median(lat) if lat else float('nan'):.2f} s over {len(lat)} changes"
        )
    right = sum(label == "red circle" for _, label in answers)
    print(
        f"  the server answered {len(answers)} classifications meanwhile ({right} right), median "
        f"{statistics.median(t for t, _ in answers) if answers else float('nan'):.2f} s each"
    )
    settled = rss[len(rss) // 6 :]  # after every session's first pictures
    print(
        f"  RSS (MiB): start {rss[0]:.0f}, after {len(rss) // 6} s {settled[0]:.0f}, end {rss[-1]:.0f}, max "
        f"{max(rss):.0f}; growth over the last {len(settled)} s: {settled[-1] - settled[0]:+.0f} MiB"
    )


def main() -> None:
    """Run the one-page Chromium figures, then the five recordings."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=24.0, help="the one page's recording")
    parser.add_argument("--sessions", type=int, default=5)
    parser.add_argument("--load-seconds", type=float, default=60.0)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    print(machine())
    print(f"before: CPU busy {busy_share():.0%} with this benchmark idle (other jobs), load average {os.getloadavg()}")
    url, proc = serve()
    try:
        with tempfile.TemporaryDirectory() as folder:
            wav = switching_wav(Path(folder) / "switch.wav")  # red circle then blue triangle, HALF s each, looping
            print(f"the microphone plays {HALF:g} s of red circle then {HALF:g} s of blue triangle, in a loop")
            with sync_playwright() as playwright:
                latency_run(playwright, url, wav, args.seconds)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    if args.sessions:
        load_run(args.sessions, args.load_seconds)
    print(f"after: CPU busy {busy_share():.0%} with this benchmark idle (other jobs), load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
