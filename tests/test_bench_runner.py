"""The TuneBench runner end to end on one real scenario (slow: trains the model for real)."""

from __future__ import annotations

import math

import pytest

pytestmark = pytest.mark.slow


def test_one_run_records_everything_a_run_needs(tmp_path) -> None:
    from tuneahead.bench.runner import execute_task

    record = execute_task("t-0", {"seed": 3, "models": ["tiny-0.2m", "tiny-1m"], "families": None,
                                  "work_dir": str(tmp_path), "options": {"curve_points": 4}})
    assert 0.0 <= record.final_metric <= 1.0 and 0.0 < record.target < 1.0
    assert len(record.static_features) >= 30 and len(record.dynamic_features) >= 20
    assert record.curves["full_eval"]["step"][0] == 0 and len(record.curves["full_eval"]["metric"]) == 4
    assert len(record.curves["full_train"]["loss"]) == record.extra["full_steps"]
    assert record.costs["flops_probe"] < record.costs["flops_full"]
    assert record.ground_truth and "problems" in record.ground_truth
    if record.extra["proxy_model"]:
        assert record.costs["flops_proxy"] < record.costs["flops_full"]
        assert record.extra["proxy_metric"] is not None and math.isfinite(record.extra["proxy_metric"])
        # ProxyLM's input is what a user could measure (their eval rows); the hidden-test score is analysis only.
        assert record.extra["proxy_scored_on"] == "eval" and math.isfinite(record.extra["proxy_test_metric"])
    assert not list(tmp_path.iterdir())  # scenario files removed after the run
