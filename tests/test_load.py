"""Load: 20 concurrent gradio_client users rank and generate for 60 s on loopback; no errors, memory flat."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest
from gradio_client import Client, handle_file

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
USERS = 20
SECONDS = float(os.environ.get("WAVBRIVL_LOAD_SECONDS", "60"))
REPORT = Path(os.environ.get("WAVBRIVL_ARTIFACTS", ROOT / "artifacts")) / "load-test.json"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    port = _free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False", "OMP_NUM_THREADS": "1"}
    env.setdefault("MALLOC_ARENA_MAX", "2")  # as scripts/app.sh and the Dockerfile start the app
    proc = subprocess.Popen(
        [sys.executable, "app.py", "--port", str(port), "--device", "cpu"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            Client(url, verbose=False)
            break
        except Exception:  # noqa: BLE001 - not up yet
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("the app did not start within 90 s")
    yield url, proc
    proc.terminate()
    proc.wait(timeout=20)


def test_twenty_users_for_a_minute(server):
    url, proc = server
    wav = str(ROOT / "assets" / "examples" / "green-cross_-12dB.wav")
    errors: list[str] = []
    counts = {"rank": 0, "generate": 0}
    lock = threading.Lock()
    memory: list[tuple[float, float]] = []
    stop_at = time.time() + SECONDS

    def user(index: int) -> None:
        client = Client(url, verbose=False)
        while time.time() < stop_at:
            try:
                gallery, _ = client.predict(handle_file(wav), None, True, index % 13 - 6, "", api_name="/rank")
                assert len(gallery) == 24
                with lock:
                    counts["rank"] += 1
                job = client.submit(handle_file(wav), 0, 2, index, 32, 0.15, 2, None, "", api_name="/generate")
                outputs = list(job)
                assert outputs and "final" in outputs[-1][3]
                with lock:
                    counts["generate"] += 1
            except Exception as err:  # noqa: BLE001 - every failure is collected and reported
                errors.append(f"user {index}: {type(err).__name__}: {err}")

    def sample_memory() -> None:
        process = psutil.Process(proc.pid)
        start = time.time()
        while time.time() < stop_at:
            memory.append((time.time() - start, process.memory_info().rss / 2**20))
            time.sleep(1.0)

    threads = [threading.Thread(target=user, args=(i,)) for i in range(USERS)]
    threads.append(threading.Thread(target=sample_memory))
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=SECONDS + 120)
    third = max(len(memory) // 3, 1)
    early, late = max(m for _, m in memory[:third]), max(m for _, m in memory[-third:])
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(
        json.dumps(
            {
                "users": USERS,
                "seconds": SECONDS,
                "requests": counts,
                "errors": errors[:20],
                "rss_mib_first_third_max": early,
                "rss_mib_last_third_max": late,
            },
            indent=2,
        )
    )
    assert not errors, errors[:5]
    assert proc.poll() is None, "the server died"
    assert counts["rank"] >= USERS and counts["generate"] >= USERS
    assert late <= early * 1.15 + 50, (early, late)
