"""The evaluation report's own column (issue 31): our computed figures, never the paper's, in the 'ours' column."""

from __future__ import annotations

import json

from wavbrivl.evaluation.report import render_markdown, update_report

ENTRY = {
    "task": "esc50",
    "root": "/data/ESC-50-master",
    "missing_media": 1,
    "unreadable_count": 0,
    "model": {"preset": "toyworld"},
    "when": "2024-05-01T00:00:00+00:00",
    "metrics": {"accuracy": 0.123456, "accuracy_std": 0.01, "zero_shot_accuracy": 0.5, "train_clips": 30,
                "test_clips": 10, "not_a_headline": 7.0},
}  # fmt: skip


def test_the_report_shows_our_figures_beside_the_papers():
    text = render_markdown({"tasks": {"esc50": ENTRY}})
    assert text.splitlines() == [
        "# WavBriVL evaluation report",
        "",
        "## esc50",
        "",
        "Data: `/data/ESC-50-master` (40 clips; 1 listed without media, 0 unreadable). Model: toyworld. "
        "2024-05-01T00:00:00+00:00.",
        "",
        "| metric | ours | paper (WavBriVL) |",
        "| --- | --- | --- |",
        "| accuracy | 0.1235 | 0.9117 |",
        "| accuracy_std | 0.0100 | — |",
        "| zero_shot_accuracy | 0.5000 | 0.4120 |",
    ]


def test_a_task_without_headlines_lists_every_metric_and_counts_pairs(tmp_path):
    entry = {**ENTRY, "task": "mine", "metrics": {"pairs": 16, "b": 0.25, "a": 1.0}, "root": "r"}
    entry.pop("when")
    _, markdown = update_report(tmp_path, entry, {"preset": "tiny-random"})
    lines = markdown.read_text().splitlines()
    assert lines[4].startswith("Data: `r` (16 clips; 1 listed without media, 0 unreadable). Model: tiny-random. ")
    assert lines[8:11] == ["| a | 1.0000 | — |", "| b | 0.2500 | — |", "| pairs | 16.0000 | — |"]
    stored = json.loads((tmp_path / "report.json").read_text())["tasks"]["mine"]
    assert stored["metrics"] == entry["metrics"] and stored["model"] == {"preset": "tiny-random"}
