"""Evaluation: the run-table convention, group-aware splits, metrics, savings, comparison tables."""
