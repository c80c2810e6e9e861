"""Sounds the set does not know: cosine to the nearest known sound (class prototypes per level), calibrated.

What a set "knows" is kept as reference embeddings: the mean unit audio embedding of its training sounds per class
and per band of loudness (the toy audio tower places a class's sounds along a curve with their level, so one mean
per class sits far from its own loud and quiet sounds). A sound whose best cosine to every reference is below the
threshold, or whose peak is below SILENCE_DBFS, is flagged. The threshold is the WORLD_RATE quantile of held-out
world sounds' best cosines (bench/bench_novelty.py measures it against sounds made on the spot).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from wavbrivl.data.audio import SAMPLE_RATE, SILENCE_DBFS
from wavbrivl.data.pairs import AudioEmbeddings
from wavbrivl.errors import WeightsError
from wavbrivl.toyworld.world import CLASSES, LEVEL_RANGE_DB, ToyWorld, synth_sound

if TYPE_CHECKING:
    from wavbrivl.pipeline import WavBriVLPipeline

NOVELTY_FILE = "novelty.json"
FORMAT = "wavbrivl-novelty"
BIN_DB = 6.5  # width of a loudness band: four bands over the world's 26 dB (chosen on the calibration half)
WORLD_RATE = 0.02  # share of held-out world sounds the threshold flags (the bar allows 0.05)
HELD_OUT_START = 1_000_000  # world indices the build holds out (training used 0 .. train_examples - 1)
PROBE_MATCH = 0.999  # a saved check belongs to an audio tower that embeds the probe sound within this cosine
STUDY_LEVELS_DB = tuple(float(v) for v in np.linspace(*LEVEL_RANGE_DB, 7))  # -30 .. -4 dBFS peak, every 4.3 dB


@dataclass(frozen=True)
class Novelty:
    """One sound's verdict: known or not, the nearest class and cosine, and the sentence to show ("" if known)."""

    known: bool
    nearest: str
    cosine: float
    peak_db: float | None
    sentence: str


@dataclass
class NoveltyCheck:
    """Reference embeddings (unit rows), the class of each, the cosine threshold and how it was calibrated."""

    class_names: list[str]
    references: torch.Tensor
    reference_class: list[int]
    threshold: float
    floor_db: float = SILENCE_DBFS
    level_range_db: tuple[float, float] = LEVEL_RANGE_DB  # the peak levels of the sounds the set was trained on
    probe: list[float] = field(default_factory=list)  # the set's embedding of probe_sound(): which tower this fits
    calibration: dict[str, Any] = field(default_factory=dict)

    def scores(self, embeddings: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Best cosine to any reference (N,) and that reference's class index (N,)."""
        if embeddings.shape[-1] != self.references.shape[1]:
            raise WeightsError(
                f"the novelty check holds {self.references.shape[1]}-d references but the sounds are "
                f"{embeddings.shape[-1]}-d: it belongs to another model set"
            )
        unit = torch.nn.functional.normalize(embeddings.float().reshape(-1, embeddings.shape[-1]), dim=-1)
        best, index = (unit @ self.references.T).max(1)
        return best, torch.tensor(self.reference_class, dtype=torch.long)[index]

    def check(
        self, embeddings: AudioEmbeddings | torch.Tensor, peaks_db: Sequence[float] | None = None
    ) -> list[Novelty]:
        """Per sound: known or not, nearest class, cosine and sentence; AudioEmbeddings also give each peak level."""
        if isinstance(embeddings, AudioEmbeddings):
            peaks_db = [_db(v.peak_out) for v in embeddings.volumes] if peaks_db is None else peaks_db
            embeddings = embeddings.embeddings
        best, classes = self.scores(embeddings)
        peaks = list(peaks_db) if peaks_db is not None else [None] * len(best)
        return [self._verdict(float(c), self.class_names[int(k)], p) for c, k, p in zip(best, classes, peaks)]

    def notes(self, sound: AudioEmbeddings) -> list[str]:
        """The flagged sounds' sentences as notes ('clip: sentence', with the gain when not 0 dB), each once."""
        said = [
            f"{clip.name}{f' at {gain.gain_db:+g} dB' if gain.gain_db else ''}: {verdict.sentence}"
            for clip, gain, verdict in zip(sound.clips, sound.volumes, self.check(sound))
            if not verdict.known
        ]
        return list(dict.fromkeys(said))

    def _verdict(self, cosine: float, nearest: str, peak_db: float | None) -> Novelty:
        tail = f"; nearest: {nearest}, cosine {cosine:.2f}"
        count = f"{len(self.class_names)} sounds this set was trained on"
        if peak_db is not None and peak_db < self.floor_db:
            level = "silent" if peak_db == -np.inf else f"peak {peak_db:.0f} dBFS"
            return Novelty(False, nearest, cosine, peak_db, f"too quiet for any of the {count} ({level}){tail}")
        if cosine >= self.threshold:
            return Novelty(True, nearest, cosine, peak_db, "")
        lo, hi = self.level_range_db
        if peak_db is not None and not lo - 1 <= peak_db <= hi + 1:  # said, not judged: the cosine decides
            side = "quieter" if peak_db < lo else "louder"
            tail += f"; {side} than any of them (peak {peak_db:.0f} dBFS; theirs {lo:g} to {hi:g})"
        return Novelty(False, nearest, cosine, peak_db, f"unlike any of the {count}{tail}")

    def describe(self) -> str:
        """One line for a model page: what is compared, the threshold, and its calibrated rate."""
        rate = self.calibration.get("world_rate", WORLD_RATE)
        return (
            f"flags a sound whose cosine to each of {len(self.references)} reference sounds ({len(self.class_names)} "
            f"classes by loudness) is below {self.threshold:.3f} ({rate:.0%} of held-out world sounds are), or whose "
            f"peak is below {self.floor_db:g} dBFS"
        )

    def fits(self, pipe: WavBriVLPipeline) -> bool:
        """Whether this check was made with this set's audio tower (its probe sound embeds the same)."""
        if not self.probe or len(self.probe) != pipe.audio_tower.embed_dim:
            return False
        with torch.no_grad():  # the tower itself: a set's own check, not a sound request (no notes, no refusal)
            wave = torch.from_numpy(probe_sound())[None].to(pipe.device)
            probe = pipe.audio_tower(wave).float().cpu()[0]
        return float(torch.nn.functional.cosine_similarity(probe, torch.tensor(self.probe), dim=0)) >= PROBE_MATCH

    def to_dict(self) -> dict[str, Any]:
        """The check as JSON-ready values (references rounded to 5 decimals)."""
        return {
            "format": FORMAT,
            "version": 1,
            "class_names": self.class_names,
            "threshold": round(self.threshold, 6),
            "floor_db": self.floor_db,
            "level_range_db": list(self.level_range_db),
            "reference_class": self.reference_class,
            "references": [[round(v, 5) for v in row] for row in self.references.tolist()],
            "probe": [round(v, 6) for v in self.probe],
            "calibration": self.calibration,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NoveltyCheck:
        """A check from to_dict's values."""
        if data.get("format") != FORMAT:
            raise WeightsError(f"format {data.get('format')!r} is not {FORMAT!r}")
        refs = torch.nn.functional.normalize(torch.tensor(data["references"], dtype=torch.float32), dim=-1)
        lo, hi = data.get("level_range_db", LEVEL_RANGE_DB)
        return cls(
            list(data["class_names"]),
            refs,
            [int(c) for c in data["reference_class"]],
            float(data["threshold"]),
            float(data.get("floor_db", SILENCE_DBFS)),
            (float(lo), float(hi)),
            [float(v) for v in data.get("probe", [])],
            dict(data.get("calibration", {})),
        )


def _db(peak: float) -> float:
    return float(20 * np.log10(peak)) if peak > 0 else -np.inf


def save(check: NoveltyCheck, folder: str | Path) -> Path:
    """Write the check as folder/novelty.json (a few tens of kB)."""
    path = Path(folder) / NOVELTY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    fields = [
        f" {json.dumps(k)}: {_rows(v) if k == 'references' else json.dumps(v)}" for k, v in check.to_dict().items()
    ]
    path.write_text("{\n" + ",\n".join(fields) + "\n}\n")
    return path


def _rows(rows: list[list[float]]) -> str:
    return "[\n  " + ",\n  ".join(json.dumps(row) for row in rows) + "\n ]"


def load(folder: str | Path) -> NoveltyCheck | None:
    """The check saved in folder/novelty.json, or None when the folder has none."""
    path = Path(folder) / NOVELTY_FILE
    if not path.is_file():
        return None
    try:
        return NoveltyCheck.from_dict(json.loads(path.read_text()))
    except (ValueError, KeyError, TypeError, WeightsError) as err:
        raise WeightsError(f"{path}: not a novelty check ({err})") from None


def probe_sound() -> np.ndarray:
    """A fixed 1 s sound (a quiet rising chirp) whose embedding tells which audio tower a check was made with."""
    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    return (0.1 * np.sin(2 * np.pi * (150 * t + 900 * t**2))).astype(np.float32)


def prototypes(
    embeddings: torch.Tensor, labels: Sequence[int], levels_db: Sequence[float], bin_db: float = BIN_DB
) -> tuple[torch.Tensor, list[int]]:
    """Mean unit embedding per (class, loudness band of bin_db), renormalised: (R, D) references and their classes."""
    unit = torch.nn.functional.normalize(embeddings.float(), dim=-1)
    top = max(int(np.ceil((LEVEL_RANGE_DB[1] - LEVEL_RANGE_DB[0]) / bin_db)) - 1, 0)
    band = np.clip(np.floor((np.asarray(levels_db, dtype=float) - LEVEL_RANGE_DB[0]) / bin_db), 0, top)
    cells = list(zip([int(y) for y in labels], band.astype(int).tolist()))
    keys = sorted(set(cells))
    rows = [torch.tensor([cell == key for cell in cells]) for key in keys]
    means = torch.stack([unit[mask].mean(0) for mask in rows])
    return torch.nn.functional.normalize(means, dim=-1), [int(k[0]) for k in keys]


def threshold_at(scores: torch.Tensor | np.ndarray, rate: float = WORLD_RATE) -> float:
    """The cosine below which a share `rate` of known sounds falls (their lower `rate` quantile)."""
    return float(np.quantile(np.asarray(scores, dtype=np.float64), rate))


def fit(
    class_names: Sequence[str],
    embeddings: torch.Tensor,
    labels: Sequence[int],
    levels_db: Sequence[float],
    held_out: torch.Tensor,
    rate: float = WORLD_RATE,
    bin_db: float = BIN_DB,
) -> NoveltyCheck:
    """A check from the set's training sounds' embeddings (class, level) and held-out known sounds for the threshold."""
    refs, classes = prototypes(embeddings, labels, levels_db, bin_db)
    check = NoveltyCheck(list(class_names), refs, classes, 1.0)
    best, _ = check.scores(held_out)
    check.threshold = threshold_at(best, rate)
    check.calibration = {
        "world_rate": rate,
        "bin_db": bin_db,
        "references_from": len(embeddings),
        "threshold_from": len(held_out),
        "threshold_world_flagged": int((best < check.threshold).sum()),
    }
    return check


def embed(pipe: WavBriVLPipeline, sounds: Sequence[np.ndarray], batch: int = 64) -> torch.Tensor:
    """Embed 16 kHz sounds with the set's audio tower, a batch at a time, (N, D)."""
    parts = [
        pipe.embed_audio([(SAMPLE_RATE, s) for s in sounds[i : i + batch]]).embeddings
        for i in range(0, len(sounds), batch)
    ]
    return torch.cat(parts)


def world_sounds(
    seed: int = 0, start: int = HELD_OUT_START, per_cell: int = 4, levels_db: Sequence[float] = STUDY_LEVELS_DB
) -> list[tuple[int, float, np.ndarray]]:
    """(class, level, sound) for every class at every level, per_cell each, from world indices start onwards."""
    world, out = ToyWorld(seed), []
    for i in range(per_cell * len(levels_db) * len(CLASSES)):
        label, level = i % len(CLASSES), float(levels_db[(i // len(CLASSES)) % len(levels_db)])
        out.append((label, level, world.example(start + i, label=label, level_db=level).audio))
    return out


def calibrate(
    pipe: WavBriVLPipeline, seed: int = 0, references: int = 2400, per_cell: int = 4, rate: float = WORLD_RATE
) -> NoveltyCheck:
    """A toy-world set's check: references from its first training sounds, the threshold from held-out world sounds."""
    train = ToyWorld(seed).examples(0, references)
    known = world_sounds(seed, HELD_OUT_START, per_cell)
    names = list(pipe.class_names) or [c.name for c in CLASSES]
    check = fit(
        names,
        embed(pipe, [e.audio for e in train]),
        [e.label for e in train],
        [e.level_db for e in train],
        embed(pipe, [s for *_, s in known]),
        rate,
    )
    check.probe = pipe.embed_audio((SAMPLE_RATE, probe_sound())).embeddings[0].tolist()
    check.calibration["world_seed"] = seed
    return check


def novelty_for(pipe: WavBriVLPipeline, folder: str | Path | None = None) -> NoveltyCheck | None:
    """The set's saved check (its folder's, or the offline default's novelty.json) if made with its audio tower."""
    from wavbrivl.loading import OFFLINE_PRESET, TOYWORLD_DIR

    if pipe.sound_refusal():  # an untrained audio tower takes no sounds: nothing to check
        return None
    folders = [Path(folder)] if folder is not None else []
    if pipe.preset == OFFLINE_PRESET:
        folders.append(Path(TOYWORLD_DIR))
    for candidate in folders:
        check = load(candidate)
        if check is not None and check.fits(pipe):
            return check
    return None  # a set without a check made for its audio tower (calibrate one with `calibrate` and `save`)


def chord(first: int, second: int, level_db: float, rng: np.random.Generator, second_db: float = 0.0) -> np.ndarray:
    """Two toy classes sounding at once (the second second_db relative to the first), peak-normalised to level_db."""
    mix = synth_sound(CLASSES[first], -10.0, rng) + synth_sound(CLASSES[second], -10.0 + second_db, rng)
    return _at(mix, level_db)


def _at(wave: np.ndarray, level_db: float) -> np.ndarray:
    peak = float(np.max(np.abs(wave)))
    return (wave / peak * 10 ** (level_db / 20) if peak > 0 else wave).astype(np.float32)


def made_up_sounds(seed: int = 0, per_kind: int = 8, seconds: float = 1.0) -> list[tuple[str, np.ndarray]]:
    """(kind, sound) made on the spot: noises, clicks, claps, silence to -45 dBFS, chords of two classes, melodies."""
    rng = np.random.default_rng([seed, 31])
    n = int(seconds * SAMPLE_RATE)
    level = lambda: float(rng.uniform(-36.0, 0.0))  # noqa: E731
    spectrum = lambda power: np.fft.irfft(  # noqa: E731
        np.fft.rfft(rng.normal(0, 1, n)) / np.maximum(np.arange(n // 2 + 1), 1) ** (power / 2), n
    )
    out: list[tuple[str, np.ndarray]] = []
    for i in range(per_kind):
        out += [
            ("white noise", _at(rng.normal(0, 1, n), level())),
            ("pink noise", _at(spectrum(1), level())),
            ("brown noise", _at(spectrum(2), level())),
        ]
        period = int(SAMPLE_RATE / rng.choice([1, 2, 4, 8, 16, 40]))
        clicks = np.zeros(n)
        clicks[int(rng.integers(period)) :: period] = 1.0
        if i % 2:  # claps: each click a short decaying burst of noise
            clicks = np.convolve(clicks, np.exp(-np.arange(160) / 20) * rng.normal(0, 1, 160))[:n]
        out.append(("clicks", _at(clicks + rng.normal(0, 1e-4, n), level())))
        quiet = rng.normal(0, 1, n) if i % 4 else np.zeros(n)  # one in four all zeros, the rest -90 .. -45 dBFS
        out.append(("silence", _at(quiet, float(rng.uniform(-90.0, -45.0)))))
        first, second = (int(c) for c in rng.choice(len(CLASSES), 2, replace=False))
        level_db, second_db = float(rng.uniform(*LEVEL_RANGE_DB)), float(rng.uniform(-6.0, 0.0))
        out.append(("chord", chord(first, second, level_db, rng, second_db)))
        out.append(("melody", _at(_melody(rng, n), level())))
    return out


def _melody(rng: np.random.Generator, n: int) -> np.ndarray:
    """4-8 notes of a sine melody, none within a semitone of a toy class's pitch."""
    toy = np.array([c.pitch_hz for c in CLASSES])
    notes = int(rng.integers(4, 9))
    wave, length = np.zeros(n), n // notes
    t = np.arange(length) / SAMPLE_RATE
    for k in range(notes):
        while True:
            f = 110.0 * 2 ** (int(rng.integers(0, 36)) / 12)
            if np.min(np.abs(np.log2(f / toy))) > 0.09:
                break
        wave[k * length : (k + 1) * length] = np.sin(2 * np.pi * f * t) * np.hanning(length)
    return wave
