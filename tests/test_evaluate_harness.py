"""Held-out evaluation: no leakage across groups, the predictor beats trivial baselines, honest tables."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from tuneahead.baselines.early_stop import EarlyStopExtrapolation
from tuneahead.baselines.ours import Majority, ProxyLM, tuneahead_methods
from tuneahead.errors import InputError
from tuneahead.evaluate.harness import EvalConfig, evaluate
from tuneahead.evaluate.metrics import MethodOutput
from tuneahead.evaluate.report import to_markdown
from tuneahead.evaluate.synthetic import make_synthetic_runs
from tuneahead.store.table import Task

FAST = {"n_estimators": 120}


@pytest.fixture(scope="module")
def runs() -> pd.DataFrame:
    return make_synthetic_runs(300, seed=31, n_families=6)


class Spy:
    """Records what each fit saw and checks that the test fold's groups were never in it."""

    name = "spy"
    description = "leak detector"

    def __init__(self) -> None:
        self.train_groups: set[str] = set()
        self.calls = 0
        self.seeds: set[int] = set()

    def unavailable(self, table: pd.DataFrame, task: Task) -> str | None:
        return None

    def fit(self, train: pd.DataFrame, task: Task, seed: int) -> None:
        self.train_groups = set(train["family"])
        self.seeds.add(seed)

    def predict(self, test: pd.DataFrame, task: Task) -> MethodOutput:
        assert not set(test["family"]) & self.train_groups, "a held-out family was in the training runs"
        self.calls += 1
        n = len(test)
        return MethodOutput(*(np.full(n, 0.5) for _ in range(4)), np.zeros(n))


def test_no_group_leaks_into_training_and_every_seed_runs(runs: pd.DataFrame) -> None:
    spy = Spy()
    res = evaluate(runs, Task(), [spy], EvalConfig(n_folds=3, seeds=(0, 1), n_boot=0))
    assert spy.calls == 6 and spy.seeds == {0, 1}
    assert res.method("spy").status == "ok"


def test_predictor_recovers_signal_and_beats_the_trivial_baselines(runs: pd.DataFrame) -> None:
    methods = [tuneahead_methods(FAST)[0], ProxyLM(FAST), EarlyStopExtrapolation(0.3), Majority()]
    res = evaluate(runs, Task(), methods, EvalConfig(seeds=(0,), n_boot=40))
    ours, majority, oracle = res.method("tuneahead"), res.method("majority"), res.method("oracle")
    assert ours.metrics["auroc"] > 0.93
    assert ours.metrics["balanced_accuracy"] > 0.85 > majority.metrics["balanced_accuracy"]
    assert ours.metrics["rmse"] < 0.07 < majority.metrics["rmse"]
    assert ours.metrics["interval_coverage"] > 0.8
    # The probe costs 1-2 % of a run, and savings follow the formula with that cost.
    assert 0.01 <= ours.metrics["decide_cost_share"] <= 0.02
    assert res.method("proxylm").metrics["decide_cost_share"] == pytest.approx(0.25)
    assert res.method("early-stop-30%").metrics["decide_cost_share"] == pytest.approx(0.3)
    assert oracle.metrics["savings"] == pytest.approx(res.oracle_savings)
    assert res.oracle_savings == pytest.approx(
        runs.loc[runs.final_metric < runs.target, "cost_full"].sum() / runs["cost_full"].sum()
    )
    lo, hi = ours.ci["auroc"]
    assert lo <= ours.metrics["auroc"] <= hi
    # Paired comparison: every ranking method is scored on the same runs; the constant guess is not.
    assert {m.name for m in res.methods if "auroc_common" in m.metrics} == {"tuneahead", "proxylm", "early-stop-30%"}
    assert ours.metrics["auroc_common"] > 0.9
    assert any("common runs" in n for n in res.notes)


def test_missing_columns_skip_baselines_with_a_note(runs: pd.DataFrame) -> None:
    bare = runs.drop(columns=[c for c in runs.columns if c.startswith("curve_")] + ["proxy_metric", "cost_probe"])
    methods = [tuneahead_methods(FAST)[0], ProxyLM(FAST), EarlyStopExtrapolation(0.2), Majority()]
    res = evaluate(bare, Task(), methods, EvalConfig(seeds=(0,), n_boot=0))
    assert res.method("proxylm").status == "skipped" and "proxy_metric" in res.method("proxylm").note
    assert res.method("early-stop-20%").status == "skipped" and "curve" in res.method("early-stop-20%").note
    ours = res.method("tuneahead")
    assert ours.status == "ok" and np.isnan(ours.metrics["savings"]) and "cost" in ours.note
    md = to_markdown(res)
    assert "skipped" in md and "proxylm" in md


def test_split_by_model_size_and_tables(runs: pd.DataFrame) -> None:
    res = evaluate(runs, Task(), [Majority()], EvalConfig(split_by="model_size", seeds=(0, 1), n_boot=20))
    assert res.n_groups == 3
    md = to_markdown(res)
    assert "held out by `model_size` (3 groups)" in md
    assert "| majority |" in md and "| oracle |" in md
    payload = res.to_dict()
    json.dumps(payload, allow_nan=True)
    assert payload["methods"][0]["name"] == "majority" and payload["seeds"] == [0, 1]


def test_evaluation_errors_are_clear(runs: pd.DataFrame) -> None:
    with pytest.raises(InputError, match="threshold"):
        evaluate(runs, Task(threshold=None), [Majority()])
    with pytest.raises(InputError, match="'nope'"):
        evaluate(runs, Task(), [Majority()], EvalConfig(split_by="nope"))
    with pytest.raises(InputError, match="single value"):
        evaluate(runs.assign(family="one"), Task(), [Majority()], EvalConfig(n_boot=0))


def test_failed_method_is_reported_not_fatal(runs: pd.DataFrame) -> None:
    # Training folds of under 20 runs are too small for the predictor: it fails clearly, the table stands.
    small = runs.head(22)
    res = evaluate(small, Task(), [tuneahead_methods(FAST)[0], Majority()], EvalConfig(seeds=(0,), n_boot=0))
    assert res.method("tuneahead").status == "failed" and "at least 20 runs" in res.method("tuneahead").note
    assert res.method("majority").status == "ok"


class GroupSpy(Spy):
    """Records which model sizes each fit and each prediction saw."""

    def fit(self, train: pd.DataFrame, task: Task, seed: int) -> None:
        self.train_groups = set(train["model_size"])
        self.seeds.add(seed)

    def predict(self, test: pd.DataFrame, task: Task) -> MethodOutput:
        self.test_groups = set(test["model_size"])
        self.calls += 1
        n = len(test)
        return MethodOutput(*(np.full(n, 0.5) for _ in range(4)), np.zeros(n))


def test_train_on_some_groups_and_test_on_one(runs: pd.DataFrame) -> None:
    largest = sorted(set(runs["model_size"]))[-1]
    spy = GroupSpy()
    res = evaluate(runs, Task(), [spy, Majority()],
                   EvalConfig(split_by="model_size", test_group=str(largest), seeds=(0, 1), n_boot=10))
    assert spy.calls == 2  # one fixed split per seed, not folds
    assert spy.test_groups == {largest} and largest not in spy.train_groups and len(spy.train_groups) == 2
    assert res.n_runs == int((runs["model_size"] == largest).sum())  # scored on the test group only
    assert f"tested on `model_size` = {largest}" in to_markdown(res)
    assert res.to_dict()["test_group"] == str(largest)
    with pytest.raises(InputError, match="needs runs in that group"):
        evaluate(runs, Task(), [Majority()], EvalConfig(split_by="model_size", test_group="nope", n_boot=0))
