"""Evaluation on the paper's audio benchmarks: readers, cached embeddings, MLP probes, metrics, report."""

from wavbrivl.evaluation.report import PAPER, update_report
from wavbrivl.evaluation.tasks import TASKS, EvalConfig, run_task

__all__ = ["PAPER", "TASKS", "EvalConfig", "run_task", "update_report"]
