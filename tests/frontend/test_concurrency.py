"""One GPU is one resource: the app's model handlers take turns on it; the embedding cache is safe across threads."""

from __future__ import annotations

import random
import sys
import threading

import pytest
import torch

from wavbrivl.ranking import EmbeddingCache

MODEL_HANDLERS = ("rank", "classify", "generate", "volume_study")


def _lanes(demo) -> dict[str, tuple[str, int | None]]:
    """api name -> (concurrency id, concurrency limit) of every event listener with an api name."""
    return {fn.api_name: (fn.concurrency_id, fn.concurrency_limit) for fn in demo.fns.values() if fn.api_name}


def test_with_a_gpu_every_model_handler_shares_one_lane(tiny_pipeline, monkeypatch):
    import app

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    lanes = _lanes(app.build_app(tiny_pipeline))
    assert {lanes[name] for name in MODEL_HANDLERS} == {("gpu", 1)}
    assert all(lanes[name][0] != "gpu" for name in lanes if name.startswith("level_view"))  # no model: no turn


def test_on_the_cpu_only_generation_takes_turns(tiny_pipeline, monkeypatch):
    import app

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    lanes = _lanes(app.build_app(tiny_pipeline))
    assert lanes["generate"] == lanes["volume_study"] == ("gpu", 1)
    assert lanes["rank"][0] != "gpu" and lanes["classify"][0] != "gpu"


@pytest.fixture
def fast_switching():
    """Threads switch every microsecond, so races show up in a short test."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(before)


def _run(threads: list[threading.Thread]) -> None:
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)


def test_cache_hammered_from_threads_stays_consistent(fast_switching):
    cache = EmbeddingCache(max_items=16)
    values = {f"image{i}": torch.full((8,), float(i)) for i in range(64)}
    problems: list[str] = []

    def work(seed: int) -> None:
        rng = random.Random(seed)
        try:
            for _ in range(5000):
                key = rng.choice(list(values))
                got = cache.get(key)
                if got is None:
                    cache.put(key, values[key])
                elif not torch.equal(got, values[key]):
                    problems.append(f"{key} came back as {got[0]}")
                if rng.random() < 0.01:
                    cache.clear()
                if len(cache) > cache.max_items:
                    problems.append("over its bound")
        except Exception as err:  # noqa: BLE001 - reported by the test
            problems.append(repr(err))

    _run([threading.Thread(target=work, args=(i,)) for i in range(8)])
    assert not problems, problems[:5]
    assert len(cache) <= 16


def test_pipeline_embeds_from_threads_with_a_small_shared_cache(tiny_pipeline, image_files, monkeypatch):
    expected = tiny_pipeline.embed_images(image_files)
    monkeypatch.setattr(tiny_pipeline, "image_cache", EmbeddingCache(max_items=2))  # evicted under every call
    results: dict[int, torch.Tensor] = {}
    problems: list[str] = []

    def work(i: int) -> None:
        order = image_files[i % 5 :] + image_files[: i % 5]
        try:
            for _ in range(3):
                results[i] = tiny_pipeline.embed_images(order)
        except Exception as err:  # noqa: BLE001 - reported by the test
            problems.append(repr(err))

    _run([threading.Thread(target=work, args=(i,)) for i in range(4)])
    assert not problems, problems
    for i, got in results.items():
        shift = i % 5
        torch.testing.assert_close(got, torch.cat([expected[shift:], expected[:shift]]), rtol=1e-5, atol=1e-6)
    assert len(tiny_pipeline.image_cache) <= 2
