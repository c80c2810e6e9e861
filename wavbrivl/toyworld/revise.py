"""Revising a built toy set in place: its VQGAN's decoder sharpened (codes unchanged, so the decoder generator still
holds), or its decoder given a 1-2-step student (the decoder itself unchanged)."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, replace
from pathlib import Path

from wavbrivl.errors import InputError
from wavbrivl.toyworld.build import GENERATION_DEFAULTS, ToyBuildConfig, distil, refine_vqgan
from wavbrivl.toyworld.card import write_toyworld_card


def _revised(folder: str | Path, **overrides) -> tuple[Path, dict, ToyBuildConfig]:
    """The set's folder, its build record and its build config with overrides."""
    folder = Path(folder)
    if not (folder / "build.json").is_file():
        raise InputError(f"{folder}: no build.json there; only a set made by `wavbrivl toyworld build` can be revised")
    result = json.loads((folder / "build.json").read_text())
    return folder, result, replace(ToyBuildConfig(**result["config"]), **overrides)


def _record(folder: Path, result: dict, config: ToyBuildConfig, revision: dict, seconds: float) -> dict:
    """Write the build record (the revision appended to its list, with its seconds) and the card again."""
    result.setdefault("revisions", []).append({**revision, "seconds": round(seconds)})
    result["config"] = asdict(config)
    (folder / "build.json").write_text(json.dumps(result, indent=2))
    write_toyworld_card(folder, result)
    return result


def sharpen_vqgan(
    folder: str | Path,
    steps: int = 800,
    examples: int = 4000,
    norm: str | None = None,
    near_weight: float = 5.0,
    log=print,
) -> dict:
    """Train a built set's VQGAN decoder further (the build's VQGAN stage after training), its codes unchanged;
    norm "fixed" first fixes its norms' statistics (None: the set's own); near_weight weighs the background just
    around the object."""
    from wavbrivl.loading.folders import load_component, save_component

    folder, result, config = _revised(  # the build record first: no weights read for a folder that has none
        folder, vqgan_sharpen_steps=steps, vqgan_sharpen_examples=examples, vqgan_sharpen_near_weight=near_weight
    )
    vqgan = load_component(folder / "vqgan")  # the only part of the set this revision reads
    norm = norm or vqgan.config.decoder_norm
    if norm == "group" and vqgan.config.decoder_norm == "fixed":
        raise InputError(f"{folder}: its VQGAN decoder's norm statistics are fixed already; it cannot go back to group")
    config = replace(config, vqgan_decoder_norm=norm)
    t = time.perf_counter()
    vqgan = refine_vqgan(vqgan, config, log)
    result["timings_s"]["vqgan_sharpen"] = time.perf_counter() - t
    save_component(vqgan, folder / "vqgan")
    revision = {"command": "sharpen-vqgan", "steps": steps, "examples": examples, "norm": norm,
                "near_weight": near_weight}  # fmt: skip
    return _record(folder, result, config, revision, result["timings_s"]["vqgan_sharpen"])


def add_student(
    folder: str | Path, steps: int = 2500, pairs: int = 8192, seed: int = 0, tail_share: float | None = None, log=print
) -> dict:
    """Distil a built set's decoder (its weights kept) into a student and store both; the set's sampling defaults
    become the build's (the full sampler; the Live tab and `sample_steps` up to the student's use the student)."""
    from wavbrivl.loading.folders import save_component
    from wavbrivl.loading.model_set import DECODER_DIR
    from wavbrivl.pipeline import WavBriVLPipeline

    folder, result, config = _revised(
        folder, distill_steps=steps, distill_pairs=pairs, distill_seed=seed, distill_tail_share=tail_share
    )
    pipe = WavBriVLPipeline.from_pretrained(folder, device="cpu")
    if pipe.decoder is None:
        raise InputError(f"{folder} has no decoder to distil; run `wavbrivl toyworld add-decoder` first")
    t = time.perf_counter()
    decoder, rows = distil(pipe, config, log)
    result["timings_s"]["decoder_student"] = time.perf_counter() - t
    save_component(decoder, folder / DECODER_DIR)
    index = json.loads((folder / "model_index.json").read_text())
    index["generation"].update({k: GENERATION_DEFAULTS[k] for k in ("method", "sample_steps", "guidance_scale")})
    (folder / "model_index.json").write_text(json.dumps(index, indent=2))
    result["decoder_student"] = rows[-1]
    revision = {"command": "distill-decoder", "steps": steps, "pairs": pairs, "seed": seed, "tail_share": tail_share}
    return _record(folder, result, config, revision, result["timings_s"]["decoder_student"])
