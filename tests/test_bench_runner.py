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


def test_ray_records_the_same_runs_as_local_processes(tmp_path) -> None:
    """The executor changes where a run trains, never what it records (same seeds, same thread count)."""
    import yaml

    from tuneahead.bench.campaign import load_spec, run_campaign
    from tuneahead.compute.executors import make_executor
    from tuneahead.store.sqlite import RunStore

    records = {}
    for kind in ("local", "ray"):
        folder = tmp_path / kind
        folder.mkdir()
        spec = {"name": "same", "runs": 2, "seed": 5, "models": ["tiny-0.2m"], "options": {"curve_points": 4}}
        (folder / "spec.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")
        counts = run_campaign(load_spec(folder / "spec.yaml"), executor=make_executor(kind, 2))
        assert counts == {"pending": 0, "done": 2, "failed": 0}, kind
        with RunStore(folder / "runs.db") as store:
            records[kind] = {r.run_id: r for r in store.iter_runs()}
    assert records["local"].keys() == records["ray"].keys()
    for run_id, local in records["local"].items():
        ray_run = records["ray"][run_id]
        assert ray_run.final_metric == local.final_metric and ray_run.target == local.target
        assert ray_run.static_features == pytest.approx(local.static_features, rel=1e-9, nan_ok=True)
        # Wall-clock rates (seconds per step, tokens per second) measure the machine, not the run.
        timing = {k for k in local.dynamic_features if "second" in k}
        assert {k: v for k, v in ray_run.dynamic_features.items() if k not in timing} == pytest.approx(
            {k: v for k, v in local.dynamic_features.items() if k not in timing}, rel=1e-9, nan_ok=True)
        assert ray_run.curves["full_eval"]["metric"] == local.curves["full_eval"]["metric"]
