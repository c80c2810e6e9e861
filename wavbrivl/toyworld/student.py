"""`wavbrivl toyworld distill-decoder`: give a built set's decoder a 1-2-step student, its teacher unchanged."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, replace
from pathlib import Path

from wavbrivl.toyworld.build import GENERATION_DEFAULTS, ToyBuildConfig, distil
from wavbrivl.toyworld.card import write_toyworld_card


def add_student(folder: str | Path, steps: int = 2500, pairs: int = 8192, log=print) -> dict:
    """Distil a built set's decoder (its weights kept) into a student, store both, and make one step the default."""
    from wavbrivl.loading.folders import save_component
    from wavbrivl.loading.model_set import DECODER_DIR
    from wavbrivl.pipeline import WavBriVLPipeline

    folder = Path(folder)
    result = json.loads((folder / "build.json").read_text())
    config = replace(ToyBuildConfig(**result["config"]), distill_steps=steps, distill_pairs=pairs)
    pipe = WavBriVLPipeline.from_pretrained(folder, device="cpu")
    if pipe.decoder is None:
        raise FileNotFoundError(f"{folder} has no decoder to distil; run `wavbrivl toyworld add-decoder` first")
    t = time.perf_counter()
    decoder, rows = distil(pipe, config, log)
    result["timings_s"]["decoder_student"] = time.perf_counter() - t
    save_component(decoder, folder / DECODER_DIR)
    index = json.loads((folder / "model_index.json").read_text())
    index["generation"].update({k: GENERATION_DEFAULTS[k] for k in ("method", "sample_steps", "guidance_scale")})
    (folder / "model_index.json").write_text(json.dumps(index, indent=2))
    result["config"], result["decoder_student"] = asdict(config), rows[-1]
    (folder / "build.json").write_text(json.dumps(result, indent=2))
    write_toyworld_card(folder, result)
    return result
