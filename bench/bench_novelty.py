"""Sounds the set does not know: calibrate the novelty check of the offline default and measure it both ways.

Known sounds: held-out world sounds of the set's own world (seed 0), every class at 7 levels over -30 .. -4 dBFS;
the calibration half from indices 1,000,000 on (the build's held-out block), the test half from 5,000,000 on.
Made-up sounds: speech from espeak-ng (different phrases and voices in each half), white/pink/brown noise, clicks
and claps, silence and near-silence, chords of two toy classes, sine melodies off the toy pitches (other seeds per
half). References come from the set's training sounds (world seed 0, indices 0 .. 2399). Every way of stating what
the set knows is compared on the calibration half alone (threshold: its world sounds' 2% quantile); the chosen one
is then measured once on the test half.

    .venv/bin/python -m bench.bench_novelty [--out /tmp/novelty]

writes OUT/novelty.json (the check to ship beside the set) and OUT/novelty_figures.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from bench.common import machine
from wavbrivl import WavBriVLPipeline
from wavbrivl.data.audio import SAMPLE_RATE, load_audio
from wavbrivl.novelty import (
    BIN_DB,
    HELD_OUT_START,
    WORLD_RATE,
    NoveltyCheck,
    chord,
    embed,
    fit,
    made_up_sounds,
    probe_sound,
    prototypes,
    save,
    threshold_at,
    world_sounds,
)
from wavbrivl.toyworld.world import CLASSES, ToyWorld

TEST_START = 5_000_000
PER_CELL = 5  # 8 classes x 7 levels x 5 = 280 world sounds per half
PER_KIND = 12
PHRASES = (
    ("hello there", "what is this sound", "make me a picture please", "one two three four five"),
    ("can you hear me", "the quick brown fox jumps over the lazy dog", "testing testing", "good morning everyone"),
)
VOICES = (("en-us", "de", "en-gb+f3", "es"), ("en-gb", "fr", "en-us+m4", "it"))


def speech(half: int, rng: np.random.Generator) -> list[tuple[str, np.ndarray]]:
    """espeak-ng speech, this half's phrases x voices x 2 speeds, read with load_audio (16 kHz), -36 .. 0 dBFS."""
    if shutil.which("espeak-ng") is None:
        print("note: espeak-ng is missing (apt-get install espeak-ng): no speech in this run")
        return []
    out = []
    with tempfile.TemporaryDirectory() as folder:
        for p, phrase in enumerate(PHRASES[half]):
            for v, voice in enumerate(VOICES[half]):
                for speed in (130, 190):
                    path = Path(folder) / f"{p}_{v}_{speed}.wav"
                    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(path), phrase], check=True)
                    wave = load_audio(path).waveform[: 4 * SAMPLE_RATE]
                    out.append(("speech", wave / np.abs(wave).max() * 10 ** (rng.uniform(-36, 0) / 20)))
    return out


def made_up(half: int) -> list[tuple[str, np.ndarray]]:
    """This half's made-up sounds: the numpy kinds (their own seed) and speech."""
    return made_up_sounds(seed=101 + half, per_kind=PER_KIND) + speech(half, np.random.default_rng(7 + half))


def peaks_db(sounds: list[np.ndarray]) -> list[float]:
    """Peak level of each sound in dBFS (-inf for all zeros)."""
    return [float(20 * np.log10(p)) if (p := float(np.abs(s).max())) > 0 else -np.inf for s in sounds]


def auroc(known: np.ndarray, unknown: np.ndarray) -> float:
    """P(a known sound scores above an unknown one), ties half."""
    diff = known[:, None] - unknown[None, :]
    return float((diff > 0).mean() + 0.5 * (diff == 0).mean())


def class_means(embeddings: torch.Tensor, labels: list[int]) -> torch.Tensor:
    """Mean unit embedding per class, renormalised (C, D)."""
    unit = torch.nn.functional.normalize(embeddings, dim=-1)
    means = [unit[torch.tensor(labels) == c].mean(0) for c in range(len(CLASSES))]
    return torch.nn.functional.normalize(torch.stack(means), dim=-1)


def rate(flags: np.ndarray) -> str:
    """'k/n (share)'."""
    return f"{int(flags.sum())}/{len(flags)} ({flags.mean():.3f})"


def compare(references: dict[str, torch.Tensor], world: torch.Tensor, made: torch.Tensor, kinds: list[str]) -> dict:
    """Calibration half only: threshold at the world's WORLD_RATE quantile, made-up flagged, per kind, AUROC."""
    table = {}
    for name, refs in references.items():
        k = 5 if name.startswith("k-NN") else 1  # k-NN: mean of the 5 best cosines; else the best one
        score = lambda e, refs=refs, k=k: (e @ refs.T).topk(k, dim=1).values.mean(1).numpy()  # noqa: E731
        w, m = score(world), score(made)
        threshold = threshold_at(w, WORLD_RATE)
        kind_rates = {kind: float((m[np.array(kinds) == kind] < threshold).mean()) for kind in dict.fromkeys(kinds)}
        made_rate, area = float((m < threshold).mean()), auroc(w, m)
        table[name] = {
            "references": len(refs),
            "threshold": threshold,
            "world_flagged": float((w < threshold).mean()),
            "made_up_flagged": made_rate,
            "auroc": area,
            "by_kind": kind_rates,
        }
        weakest = min(kind_rates, key=kind_rates.__getitem__)
        print(
            f"  {name:42s} {len(refs):5d} refs  threshold {threshold:.3f}  made-up flagged {made_rate:.3f}  "
            f"AUROC {area:.3f}  weakest: {weakest} {kind_rates[weakest]:.2f}"
        )
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="/tmp/novelty", help="folder for novelty.json and novelty_figures.json")
    out = Path(parser.parse_args().out)
    torch.manual_seed(0)
    start = time.perf_counter()
    pipe = WavBriVLPipeline.from_preset(device="cpu", load_generators=False)
    names = [c.name for c in CLASSES]
    train = ToyWorld(0).examples(0, 2400)
    labels, levels = [e.label for e in train], [e.level_db for e in train]
    train_e = embed(pipe, [e.audio for e in train])
    halves = [world_sounds(0, HELD_OUT_START, PER_CELL), world_sounds(0, TEST_START, PER_CELL)]
    world_e = [embed(pipe, [s for *_, s in half]) for half in halves]
    made = [made_up(0), made_up(1)]
    made_e = [embed(pipe, [s for _, s in half]) for half in made]
    print(f"machine: {machine()}")
    print(
        f"references: {len(train)} training sounds; world sounds per half: {[len(h) for h in halves]}; "
        f"made-up per half: {[len(h) for h in made]} (embedded in {time.perf_counter() - start:.0f} s)"
    )

    unit = torch.nn.functional.normalize
    images = torch.cat([pipe.embed_images([e.image for e in train[i : i + 256]]) for i in range(0, len(train), 256)])
    references = {"audio: class means": class_means(train_e, labels)}
    widths = {}  # the audio references that fit() makes: class x level bands of this width
    for width in (13.0, 6.5, 3.25):
        name = f"audio: class x {round(26 / width)} level bands"
        references[name], widths[name] = prototypes(train_e, labels, levels, width)[0], width
    references["text: class names"] = unit(pipe.embed_text(names), dim=-1)
    references["image: class means of training pictures"] = class_means(images, labels)
    references["k-NN (k=5): all training sounds"] = unit(train_e, dim=-1)
    print(f"\ncalibration half only (threshold: the {WORLD_RATE:.0%} quantile of its world sounds):")
    kinds = [[k for k, _ in half] for half in made]
    table = compare(references, world_e[0], made_e[0], kinds[0])
    chosen = max(widths, key=lambda k: (table[k]["made_up_flagged"], table[k]["auroc"]))
    best = max(table, key=lambda k: (table[k]["made_up_flagged"], table[k]["auroc"]))
    print(f"  chosen: {chosen} (best of all: {best}); novelty.BIN_DB, which calibrate() uses, is {BIN_DB}")

    check = fit(names, train_e, labels, levels, world_e[0], WORLD_RATE, widths[chosen])
    check.probe = pipe.embed_audio((SAMPLE_RATE, probe_sound())).embeddings[0].tolist()
    check.calibration["world_seed"] = 0
    world_v = check.check(world_e[1], peaks_db([s for *_, s in halves[1]]))
    made_v = check.check(made_e[1], peaks_db([s for _, s in made[1]]))
    world_flag = np.array([not v.known for v in world_v])
    made_flag = np.array([not v.known for v in made_v])
    by_kind = {k: rate(made_flag[np.array(kinds[1]) == k]) for k in dict.fromkeys(kinds[1])}
    by_level = {
        f"{lv:.1f}": rate(world_flag[np.array([lv == x for _, x, _ in halves[1]])])
        for lv in dict.fromkeys(x for _, x, _ in halves[1])
    }
    by_class = {n: rate(world_flag[np.array([y == c for y, _, _ in halves[1]])]) for c, n in enumerate(names)}
    print(
        f"\ntest half ({check.references.shape[0]} references, threshold {check.threshold:.4f}, floor "
        f"{check.floor_db:g} dBFS):"
    )
    print(f"  made-up flagged: {rate(made_flag)}   (bar >= 0.9)")
    print(f"  world flagged:   {rate(world_flag)}   (bar <= 0.05)")
    print("  made-up flagged by kind: " + ", ".join(f"{k} {v}" for k, v in by_kind.items()))
    print("  world flagged by level (dBFS): " + ", ".join(f"{k} {v}" for k, v in by_level.items()))
    print("  world flagged by class: " + ", ".join(f"{k} {v}" for k, v in by_class.items()))

    extra = _beyond(pipe, check)
    example = next(v.sentence for v in made_v if not v.known)
    print(f'  e.g. "{example}"')
    figures = {
        "machine": machine(),
        "world_rate": WORLD_RATE,
        "chosen": chosen,
        "threshold": check.threshold,
        "references": int(check.references.shape[0]),
        "calibration_half": table,
        "test_half": {
            "made_up_flagged": rate(made_flag),
            "world_flagged": rate(world_flag),
            "made_up_by_kind": by_kind,
            "world_by_level_db": by_level,
            "world_by_class": by_class,
        },
        "beyond_the_bar": extra,
        "seconds": round(time.perf_counter() - start, 1),
    }
    check.calibration.update(test_made_up_flagged=rate(made_flag), test_world_flagged=rate(world_flag))
    print(f"\nwrote {save(check, out)} and {_write(out / 'novelty_figures.json', figures)}")


def _beyond(pipe: WavBriVLPipeline, check: NoveltyCheck) -> dict:
    """Known sounds outside the calibrated ones (not in the bar): the world's edges of loudness, 2 s sounds, chords
    by the second class's level."""
    world, rng, out = ToyWorld(0), np.random.default_rng(3), {}
    for level in (-36.0, -33.0, -2.0, 0.0):
        sounds = [world.example(TEST_START + 10_000 + i, label=i % 8, level_db=level).audio for i in range(40)]
        out[f"world at {level:g} dBFS"] = rate(np.array([not v.known for v in check.check(embed(pipe, sounds))]))
    long = ToyWorld(0, seconds=2.0)
    sounds = [long.example(TEST_START + 20_000 + i, label=i % 8).audio for i in range(40)]
    out["world, 2 s long"] = rate(np.array([not v.known for v in check.check(embed(pipe, sounds))]))
    for second_db in (0.0, -3.0, -6.0, -12.0):
        pairs = [rng.choice(8, 2, replace=False) for _ in range(40)]
        sounds = [chord(int(a), int(b), float(rng.uniform(-30, -4)), rng, second_db) for a, b in pairs]
        out[f"chord, second class {second_db:+g} dB"] = rate(
            np.array([not v.known for v in check.check(embed(pipe, sounds))])
        )
    print("  beyond the bar: " + ", ".join(f"{k} {v}" for k, v in out.items()))
    return out


def _write(path: Path, figures: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(figures, indent=2) + "\n")
    return path


if __name__ == "__main__":
    main()
