"""Evaluation costs: full-size audio and text towers per clip / prompt, and a cached rerun vs a first run."""

from __future__ import annotations

import tempfile
from pathlib import Path

import torch

from bench.common import machine, timed
from tests.helpers.eval_layouts import make_esc50
from wavbrivl import WavBriVLPipeline
from wavbrivl.configs import AudioTowerConfig, BriVLTextConfig
from wavbrivl.evaluation import EvalConfig, run_task
from wavbrivl.evaluation.datasets import read_esc50
from wavbrivl.evaluation.embed import Embedder
from wavbrivl.loading import TOYWORLD_DIR
from wavbrivl.models import BriVLTextTower, WavBriVLAudioTower
from wavbrivl.toyworld.train_text import make_toy_tokenizer


def full_size_costs(clips: int = 4, seconds: float = 5.0, prompts: int = 50) -> tuple[float, float]:
    """Seconds per 5 s clip (WavLM base tower) and per prompt (BriVL text tower, 80 tokens), random weights."""
    torch.manual_seed(0)
    audio = WavBriVLAudioTower(AudioTowerConfig()).eval()
    waves = torch.randn(clips, int(seconds * 16000)) * 0.1
    with torch.no_grad():
        audio(waves[:1])
        per_clip = timed(lambda: audio(waves), repeat=2) / clips
    text = BriVLTextTower(BriVLTextConfig()).eval()
    text.tokenizer = make_toy_tokenizer()  # same padded length (80) as the real tokenizer
    words = [f"the sound of a red circle number {i}" for i in range(prompts)]
    with torch.no_grad():
        text.encode_text(words[:2])
        per_prompt = timed(lambda: text.encode_text(words), repeat=2) / prompts
    return per_clip, per_prompt


def cache_ratio(per_fold_per_class: int = 5) -> tuple[int, float, float, float]:
    """Toy set on a miniature ESC-50: embedding stage first vs from the cache, and the whole task (5 probes)."""
    pipe = WavBriVLPipeline.from_pretrained(TOYWORLD_DIR, device="cpu")
    with tempfile.TemporaryDirectory() as tmp:
        root = make_esc50(Path(tmp) / "esc50", per_fold_per_class=per_fold_per_class)
        items = read_esc50(root).items
        first = timed(lambda: Embedder(pipe, Path(tmp) / "cache", "esc50").audio(items, 5.0))
        again = timed(lambda: Embedder(pipe, Path(tmp) / "cache", "esc50").audio(items, 5.0))
        whole = timed(lambda: run_task(pipe, EvalConfig("esc50", str(root), cache=str(Path(tmp) / "cache"))))
    return len(items), first, again, whole


def main() -> None:
    """Print the figures of BENCHMARKS.md's evaluation section."""
    torch.set_num_threads(max(1, torch.get_num_threads()))
    print(f"# evaluation — {machine()}")
    per_clip, per_prompt = full_size_costs()
    minutes = 2000 * per_clip / 60
    print(f"full-size audio tower, 5 s clip: {per_clip:.3f} s/clip -> ESC-50 (2,000 clips) {minutes:.1f} min")
    print(f"full-size text tower, 80 tokens: {per_prompt * 1000:.1f} ms/prompt")
    clips, first, again, whole = cache_ratio()
    print(
        f"toy ESC-50 layout, {clips} clips: embedding {first:.2f} s, from the cache {again:.3f} s "
        f"-> {first / again:.0f}x; whole task on the cache (5 fold probes + zero-shot) {whole:.2f} s"
    )


if __name__ == "__main__":
    main()
