"""Evaluation on the paper's audio benchmarks."""
