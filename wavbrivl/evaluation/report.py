"""The evaluation report: our figures beside the paper's Table 2, as JSON and markdown."""

from __future__ import annotations

import json
import platform
from datetime import datetime, timezone
from pathlib import Path

# WavBriVL's published figures (Table 2 of the paper; ZS = zero-shot row). Clotho has no published number.
PAPER: dict[str, dict[str, float]] = {
    "esc50": {"accuracy": 0.9117, "zero_shot_accuracy": 0.412},
    "us8k": {"accuracy": 0.8832, "zero_shot_accuracy": 0.4024},
    "vggsound": {"mAP": 0.4741, "zero_shot_mAP": 0.1001},
    "desed": {"f1": 0.3720},
    "vggsound-cmr": {"mrr_a2i": 0.0611, "mrr_i2a": 0.0608},
    "clotho": {},
}
HEADLINE = {
    "esc50": ["accuracy", "accuracy_std", "zero_shot_accuracy"],
    "us8k": ["accuracy", "accuracy_std", "zero_shot_accuracy"],
    "vggsound": ["mAP", "accuracy", "zero_shot_mAP", "zero_shot_accuracy"],
    "desed": ["f1", "f1_macro", "precision", "recall"],
    "vggsound-cmr": ["mrr_a2i", "mrr_i2a", "a2i_R@1", "i2a_R@1"],
    "clotho": ["t2a_R@1", "t2a_R@10", "t2a_mAP@10", "a2t_R@1", "BLEU-1", "BLEU-4", "ROUGE-L", "CIDEr"],
}


def update_report(out: str | Path, result: dict, model: dict) -> tuple[Path, Path]:
    """Merge one task's result into out/report.json (one entry per task) and rewrite out/report.md."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "report.json"
    report = json.loads(path.read_text()) if path.is_file() else {"tasks": {}}
    result = {
        **result,
        "model": model,
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": platform.node() or "unknown",
    }
    report["tasks"][result["task"]] = result
    path.write_text(json.dumps(report, indent=2))
    markdown = out / "report.md"
    markdown.write_text(render_markdown(report))
    return path, markdown


def render_markdown(report: dict) -> str:
    """A table per task: metric, ours, the paper's WavBriVL figure."""
    lines = ["# WavBriVL evaluation report", ""]
    for task, entry in report["tasks"].items():
        metrics, paper = entry["metrics"], PAPER.get(task, {})
        lines += [
            f"## {task}",
            "",
            f"Data: `{entry['root']}` ({_count(metrics)} clips; {entry['missing_media']} listed without media, "
            f"{entry['unreadable_count']} unreadable). Model: {entry['model'].get('preset', '?')}. {entry['when']}.",
            "",
            "| metric | ours | paper (WavBriVL) |",
            "| --- | --- | --- |",
        ]
        for name in HEADLINE.get(task, sorted(metrics)):
            if name in metrics:
                ref = f"{paper[name]:.4f}" if name in paper else "—"
                lines.append(f"| {name} | {metrics[name]:.4f} | {ref} |")
        if "caption_pool" in metrics:
            lines.append(f"\nCaptions chosen from: {metrics['caption_pool']}.")
        lines.append("")
    return "\n".join(lines)


def _count(metrics: dict) -> int:
    keys = ("clips", "pairs")
    if any(k in metrics for k in keys):
        return int(next(metrics[k] for k in keys if k in metrics))
    return int(metrics.get("train_clips", 0) + metrics.get("test_clips", 0))
