"""Revising a built set in place: `wavbrivl toyworld distill-decoder` gives its decoder a new student, keeps the
decoder itself, and records the revision (sharpen-vqgan's test lives with the VQGAN's, test_train_vqgan.py)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from wavbrivl.cli import main
from wavbrivl.loading import TOYWORLD_DIR
from wavbrivl.loading.folders import load_component
from wavbrivl.loading.model_set import DECODER_DIR


def _weights(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in module.state_dict().items()}


@pytest.mark.slow  # about 10 s on 2 cores: a copy of the shipped set, 16 teacher pictures, 3 student steps
def test_distill_decoder_on_a_built_set_trains_its_student_keeps_its_decoder_and_records_it(tmp_path, capsys):
    folder = Path(shutil.copytree(TOYWORLD_DIR, tmp_path / "set"))
    before = load_component(folder / DECODER_DIR)
    teacher = {k: v for k, v in _weights(before).items() if not k.startswith("student.")}
    student = _weights(before.student)
    revisions = len(json.loads((folder / "build.json").read_text()).get("revisions", []))
    card = (folder / "README.md").read_text()
    command = ["toyworld", "distill-decoder", "--dir", str(folder), "--steps", "3", "--pairs", "16", "--seed", "7"]
    assert main(command) == 0
    assert json.loads(capsys.readouterr().out)["step"] == 3  # the student's last training row
    after = load_component(folder / DECODER_DIR)
    assert all(torch.equal(v, after.state_dict()[k]) for k, v in teacher.items())  # the decoder itself is kept
    changed = [k for k, v in student.items() if not torch.equal(v, after.student.state_dict()[k])]
    assert len(changed) > len(student) // 2  # the student went on training from the set's student
    record = json.loads((folder / "build.json").read_text())
    assert len(record["revisions"]) == revisions + 1
    revision = {k: v for k, v in record["revisions"][-1].items() if k != "seconds"}
    assert revision == {"command": "distill-decoder", "steps": 3, "pairs": 16, "seed": 7, "tail_share": None}
    assert record["config"]["distill_steps"] == 3 and record["decoder_student"]["step"] == 3
    generation = json.loads((folder / "model_index.json").read_text())["generation"]
    assert generation["method"] == "decoder" and generation["sample_steps"] == 10
    seconds = f"| decoder_student | {record['timings_s']['decoder_student']:.0f} |"
    assert seconds not in card and seconds in (folder / "README.md").read_text()  # the card was written again


@pytest.mark.parametrize(
    "missing, said",
    [(DECODER_DIR, "has no decoder to distil; run `wavbrivl toyworld add-decoder`"), ("build.json", "no build.json")],
)
@pytest.mark.parametrize("command", ["distill-decoder", "sharpen-vqgan"])
def test_revising_a_set_that_lacks_its_part_says_so_in_one_line(tmp_path, capsys, missing, said, command):
    folder = Path(shutil.copytree(TOYWORLD_DIR, tmp_path / "set"))
    if missing == DECODER_DIR and command == "sharpen-vqgan":
        missing, said = "vqgan", "vqgan"  # the part sharpen-vqgan reads
    path = folder / missing
    shutil.rmtree(path) if path.is_dir() else path.unlink()
    assert main(["toyworld", command, "--dir", str(folder), "--steps", "1"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and said in lines[0] and str(folder) in lines[0], lines
