"""Data preparation throughput on this machine: `prepare` with DataLoader workers against one process, on the
project's own test videos (tests/helpers/media.py: the tests' 64x48 size, and 320x240 10 s ones), and
`embed-frames` frames per second with the toy set's image tower and a full-size BriVL tower (random weights, the
real architecture's cost). One run, ratios from the same run.

    python -m bench.bench_scale_out [--videos 256] [--seconds 4] [--frames 96]
"""

from __future__ import annotations

import argparse
import functools
import multiprocessing
import shutil
import tempfile
import time
from pathlib import Path

import torch

from bench.common import machine
from tests.helpers.media import make_video
from wavbrivl import WavBriVLPipeline
from wavbrivl.data.shards import Sample, write_shard
from wavbrivl.loading import TOYWORLD_DIR
from wavbrivl.testing import full_size_components
from wavbrivl.toyworld import ToyWorld
from wavbrivl.training.embed_frames import embed_frames
from wavbrivl.training.prepare import ClipSettings, VideoClips, VideoEntry, prepare


def _videos(folder: Path, size: tuple[int, int]) -> Path:
    """Where prepare_rates makes the test videos of one size (pool_ceiling reads them there)."""
    return folder / f"videos-{size[0]}x{size[1]}"


def prepare_rates(
    folder: Path, videos: int, seconds: float, size: tuple[int, int], rounds: int = 5
) -> dict[int, tuple[float, float]]:
    """Videos per second of `prepare` with 0 (one process), 1 and 2 DataLoader workers, into fresh folders, the
    best of `rounds` interleaved runs: over the whole run, and while it runs (from the tenth of the videos done to
    nine tenths: without the workers' start and the last shard's tail, the rate a long job keeps)."""
    source = _videos(folder, size)
    source.mkdir()
    for i in range(videos):
        make_video(source / f"v{i:04d}.mp4", seconds=seconds, freq=200 + 10 * i, fps=25, size=size)
    rates: dict[int, tuple[float, float]] = {}
    for _ in range(rounds):  # the best of interleaved runs, each into a fresh folder: a shared VM's neighbours
        for workers in (0, 1, 2):
            out = folder / f"shards-{size[0]}-{workers}"
            done: list[tuple[int, float]] = []
            start = time.perf_counter()
            report = prepare(
                source, out, settings=ClipSettings(seconds=seconds - 1), per_shard=16, workers=workers,
                progress=lambda n, done=done: done.append((n, time.perf_counter())),
            )  # fmt: skip
            whole = report.samples / (time.perf_counter() - start)
            (n0, t0), (n1, t1) = (next(d for d in done if d[0] >= share * videos) for share in (0.1, 0.9))
            best = rates.get(workers, (0.0, 0.0))
            rates[workers] = (max(best[0], whole), max(best[1], (n1 - n0) / (t1 - t0)))
            shutil.rmtree(out)
    return rates


def _clip_record(path: Path, seconds: float) -> int:
    """prepare's own work on one video (its dataset's item: the clip extracted and encoded), its index back."""
    return VideoClips([(0, VideoEntry(path))], ClipSettings(seconds=seconds))[0][0]


def pool_ceiling(folder: Path, size: tuple[int, int], seconds: float, rounds: int) -> float:
    """How much faster two warm processes do the per-video work itself (extract and encode, nothing written or
    sent back but a number) than one, best of `rounds`: what two cores of this machine give this work, without
    any pipeline."""
    paths = sorted(_videos(folder, size).glob("*.mp4"))
    work = functools.partial(_clip_record, seconds=seconds)
    serial, pooled = float("inf"), float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for path in paths:
            work(path)
        serial = min(serial, time.perf_counter() - start)
        with multiprocessing.get_context("fork").Pool(2) as pool:
            pool.map(work, paths[:8], chunksize=1)  # warm both
            start = time.perf_counter()
            pool.map(work, paths, chunksize=1)
            pooled = min(pooled, time.perf_counter() - start)
    return serial / pooled


def embed_rates(folder: Path, frames: int) -> dict[str, float]:
    """Frames per second of `embed-frames` (batch 16) for each tower, with 0 and 2 decoding workers."""
    raw = folder / "raw"
    examples = ToyWorld(5).examples(0, frames)
    for k in range(0, frames, 32):
        samples = [
            Sample(f"f{k + i}", e.audio, e.image.resize((256, 256)), {}) for i, e in enumerate(examples[k : k + 32])
        ]
        write_shard(raw / f"shard-{k // 32:06d}.tar", samples)
    towers = {
        "toy": WavBriVLPipeline.from_pretrained(TOYWORLD_DIR, device="cpu", load_generators=False).image_tower,
        "full-size BriVL": full_size_components()[1],
    }
    rates = {}
    for name, tower in towers.items():
        for workers in (0, 2):
            out = folder / f"emb-{name}-{workers}"
            start = time.perf_counter()
            embed_frames(raw, tower, out, batch_size=16, workers=workers)
            rates[f"{name}, {workers} workers"] = frames / (time.perf_counter() - start)
            shutil.rmtree(out)
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--videos", type=int, default=256)  # fewer: runs under a second, worker start-up dominates
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--frames", type=int, default=96)
    parser.add_argument("--rounds", type=int, default=5, help="interleaved runs of each worker count (best kept)")
    args = parser.parse_args()
    if args.videos < 40:
        parser.error("--videos: give at least 40 (half of them, at least 20, are the 320x240 set)")
    with tempfile.TemporaryDirectory() as tmp:
        for size, videos, seconds in (((64, 48), args.videos, args.seconds), ((320, 240), args.videos // 2, 10.0)):
            rates = prepare_rates(Path(tmp), videos, seconds, size, args.rounds)
            for workers, (whole, running) in rates.items():
                print(
                    f"prepare, {videos} videos of {size[0]}x{size[1]} px, {seconds:g} s, {workers} workers: "
                    f"{whole:.2f} videos/s over the run ({whole / rates[0][0]:.2f}x one process), {running:.2f} "
                    f"videos/s while it runs ({running / rates[0][1]:.2f}x)"
                )
            ceiling = pool_ceiling(Path(tmp), size, seconds - 1, args.rounds)
            print(f"  two warm processes on the per-video work alone (no DataLoader, no shards): {ceiling:.2f}x")
        for name, rate in embed_rates(Path(tmp), args.frames).items():
            print(f"embed-frames, {name}: {rate:.1f} frames/s")
    print(machine(), f"torch threads {torch.get_num_threads()}")


if __name__ == "__main__":
    main()
