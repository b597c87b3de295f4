"""The run-table convention: readers, reserved columns, feature roles."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tuneahead.errors import DataError, InputError
from tuneahead.evaluate.synthetic import make_synthetic_runs
from tuneahead.store.table import Task, feature_info, is_reserved, load_runs, select_feature_columns


@pytest.fixture(scope="module")
def runs() -> pd.DataFrame:
    return make_synthetic_runs(30, seed=2, curve_points=12)


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl", ".json"])
def test_every_format_reads_back_the_same_table(runs: pd.DataFrame, tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"runs{suffix}"
    if suffix == ".csv":
        flat = runs.copy()
        for c in [c for c in runs.columns if c.startswith("curve_")]:
            flat[c] = flat[c].map(json.dumps)  # CSV keeps lists as JSON text
        flat.to_csv(path, index=False)
    elif suffix == ".parquet":
        runs.to_parquet(path)
    elif suffix == ".jsonl":
        runs.to_json(path, orient="records", lines=True)
    else:
        path.write_text(runs.to_json(orient="records"))
    back = load_runs(path)
    assert list(back.columns) == list(runs.columns)
    np.testing.assert_allclose(back["final_metric"], runs["final_metric"])
    assert back["curve_eval_metric"].iloc[3] == pytest.approx(runs["curve_eval_metric"].iloc[3])


def test_reader_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        load_runs(tmp_path / "none.csv")
    (tmp_path / "runs.xlsx").write_text("x")
    with pytest.raises(InputError, match="unsupported run-table format"):
        load_runs(tmp_path / "runs.xlsx")
    bad = tmp_path / "bad.csv"
    bad.write_text('run_id,curve_steps\nr1,"[1, 2"\n')
    with pytest.raises(DataError) as exc:
        load_runs(bad)
    assert exc.value.location.line == 2 and exc.value.location.field == "curve_steps"
    (tmp_path / "store.sqlite").write_text("not sqlite")
    with pytest.raises(DataError, match="run store"):
        load_runs(tmp_path / "store.sqlite")


def test_run_store_reads_as_a_run_table(tmp_path: Path) -> None:
    from tuneahead.store.sqlite import RunRecord, RunStore

    path = tmp_path / "runs.sqlite"
    with RunStore(path) as store:
        for i in range(3):
            store.add_run(RunRecord(
                run_id=f"r{i}", recipe={"learning_rate": 1e-4}, static_features={"n_examples": 100.0 + i},
                dynamic_features={"probe_initial_loss": 2.0 - 0.1 * i},
                curves={"full_eval": {"step": [1, 2], "metric": [0.1, 0.2], "loss": [1.0, 0.9]}},
                final_metric=0.5, target=0.4, costs={"flops_full": 1e9, "flops_probe": 1e7, "seconds_full": 10.0},
                family="a", model="m", model_params=1e6,
            ))
    table = load_runs(path)
    assert len(table) == 3 and table["curve_steps"].iloc[0] == [1, 2]
    # Labels, costs (also seconds) and curves are never features; the recipe's own hyperparameters are.
    features = select_feature_columns(table, target="final_metric")
    assert [c for c in features if not c.startswith("recipe_")] == ["n_examples", "probe_initial_loss"]
    assert "recipe_log10_learning_rate" in features and table["recipe_log10_learning_rate"].iloc[0] == -4


def test_reserved_columns() -> None:
    for name in ("run_id", "family", "model", "final_metric", "target", "cost_full", "cost_seconds_full",
                 "truth_label_noise", "curve_steps", "proxy_metric", "success"):
        assert is_reserved(name), name
    assert not is_reserved("probe_loss_drop") and not is_reserved("n_examples")


def test_feature_roles_from_catalogue_and_prefixes() -> None:
    assert feature_info("probe_x").role == "dynamic"
    assert feature_info("recipe_lr").role == "recipe"
    assert feature_info("data_x").role == "static" and feature_info("data_x").group == "data_x"
    assert feature_info("my_probe", dynamic_prefixes=("my_",)).role == "dynamic"
    lr = feature_info("log10_learning_rate")
    if lr.unit:  # registered in the catalogue of this build
        assert lr.role == "recipe" and lr.group == "recipe"
    loss = feature_info("probe_initial_loss")
    assert loss.role == "dynamic"


def test_task_thresholds_and_success(runs: pd.DataFrame) -> None:
    task = Task().resolve(runs)
    assert "truth_label_noise" not in task.feature_cols and "target" not in task.feature_cols
    np.testing.assert_array_equal(task.success(runs), runs["final_metric"] >= runs["target"])
    fixed = Task(threshold=0.5)
    np.testing.assert_array_equal(fixed.success(runs), runs["final_metric"] >= 0.5)
    with pytest.raises(InputError, match="'nope'"):
        Task(threshold="nope").resolve(runs)
    with pytest.raises(ValueError, match="resolve"):
        Task().columns_with_role("static")
