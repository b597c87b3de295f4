"""Baseline methods: what they read, what they cost, and that they learn something on synthetic runs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tuneahead.baselines.base import Method
from tuneahead.baselines.early_stop import EarlyStopExtrapolation, LinearEarlyStop
from tuneahead.baselines.ours import Majority, ProxyLM, tuneahead_methods
from tuneahead.evaluate.synthetic import make_synthetic_runs
from tuneahead.store.table import Task


@pytest.fixture(scope="module")
def split() -> tuple[pd.DataFrame, pd.DataFrame, Task]:
    runs = make_synthetic_runs(260, seed=41)
    task = Task().resolve(runs)
    return runs.iloc[:180], runs.iloc[180:], task


def _rmse(pred: np.ndarray, y: np.ndarray) -> float:
    return float(np.sqrt(np.nanmean((pred - y) ** 2)))


def test_every_method_follows_the_protocol() -> None:
    for m in [*tuneahead_methods(), ProxyLM(), EarlyStopExtrapolation(0.1), LinearEarlyStop(), Majority()]:
        assert isinstance(m, Method), m


def test_ablations_read_only_their_roles(split: tuple[pd.DataFrame, pd.DataFrame, Task]) -> None:
    train, test, task = split
    by_name = {m.name: m for m in tuneahead_methods({"n_estimators": 40})}
    assert set(by_name["dynamic-only"].columns(task)) == {"probe_loss_drop", "probe_grad_norm"}
    assert set(by_name["recipe-only"].columns(task)) == {"recipe_lr_log10", "recipe_epochs", "recipe_lora_rank"}
    static = set(by_name["static-only"].columns(task))
    assert "data_trunc_share" in static and "recipe_epochs" in static and not any(c.startswith("probe_") for c in static)
    full = set(by_name["tuneahead"].columns(task))
    assert full == static | {"probe_loss_drop", "probe_grad_norm"}
    assert not any(c.startswith(("truth_", "proxy")) for c in full)  # hidden knobs never leak in
    m = by_name["static-only"]
    m.fit(train, task, 0)
    assert np.all(m.predict(test, task).decide_cost == 0)
    d = by_name["dynamic-only"]
    d.fit(train, task, 0)
    np.testing.assert_array_equal(d.predict(test, task).decide_cost, test["cost_probe"].to_numpy())


def test_custom_prefixes_change_the_roles() -> None:
    runs = make_synthetic_runs(60, seed=1, with_curves=False).rename(columns={"probe_loss_drop": "dyn_loss_drop"})
    task = Task(dynamic_prefixes=("probe_", "dyn_")).resolve(runs)
    assert "dyn_loss_drop" in task.columns_with_role("dynamic")


def test_proxylm_uses_proxy_scores_and_pays_the_proxy(split: tuple[pd.DataFrame, pd.DataFrame, Task]) -> None:
    train, test, task = split
    m = ProxyLM({"n_estimators": 80})
    m.fit(train, task, 0)
    assert m.features[:2] == ["proxy_metric", "proxy_zero_shot_metric"]
    assert not any(task.info(c).role in ("recipe", "dynamic") for c in m.features[2:])
    out = m.predict(test, task)
    np.testing.assert_array_equal(out.decide_cost, test["cost_proxy"].to_numpy())
    assert _rmse(out.metric, test["final_metric"].to_numpy()) < 0.07
    assert m.unavailable(test.drop(columns=["proxy_metric"]), task) is not None
    # A run on the smallest model has no proxy: ProxyLM leaves it undecided and pays nothing for it.
    orphan = test.copy()
    orphan.loc[orphan.index[:3], ["proxy_metric", "cost_proxy"]] = np.nan
    out = m.predict(orphan, task)
    assert np.isnan(out.p_success[:3]).all() and (out.decide_cost[:3] == 0).all()
    assert np.isfinite(out.p_success[3:]).all()
    assert orphan["cost_proxy"].isna().sum() == 3  # the caller's table is left alone


@pytest.fixture(scope="module")
def early_stop(split: tuple[pd.DataFrame, pd.DataFrame, Task]) -> dict[float, EarlyStopExtrapolation]:
    train, _, task = split
    fitted = {}
    for f in (0.1, 0.3):
        fitted[f] = EarlyStopExtrapolation(f)
        fitted[f].fit(train, task, 0)
    return fitted


def test_early_stop_extrapolation_learns_from_curves(
    split: tuple[pd.DataFrame, pd.DataFrame, Task], early_stop: dict[float, EarlyStopExtrapolation]
) -> None:
    _, test, task = split
    y = test["final_metric"].to_numpy()
    errors = {}
    for f, m in early_stop.items():
        out = m.predict(test, task)
        assert out.cost_is_prefix
        np.testing.assert_allclose(out.decide_cost, f * test["cost_full"].to_numpy())
        assert np.all((out.p_success >= 0) & (out.p_success <= 1))
        errors[f] = _rmse(out.metric, y)
    assert errors[0.3] < errors[0.1] < np.std(y)  # seeing more of the run helps
    assert errors[0.3] < 0.06


def test_early_stop_falls_back_to_the_loss_curve(split: tuple[pd.DataFrame, pd.DataFrame, Task]) -> None:
    train, test, task = split
    m = EarlyStopExtrapolation(0.3)
    m.fit(train.head(80).drop(columns=["curve_eval_metric"]), task, 0)
    assert m.curve == "curve_eval_loss"
    test = test.head(40)
    out = m.predict(test.drop(columns=["curve_eval_metric"]), task)
    assert np.corrcoef(out.metric, test["final_metric"])[0, 1] > 0.8  # lower loss ⇒ higher score, learnt


def test_runs_with_too_short_curves_are_undecided(
    split: tuple[pd.DataFrame, pd.DataFrame, Task], early_stop: dict[float, EarlyStopExtrapolation]
) -> None:
    _, test, task = split
    test = test.head(5).copy()
    before = early_stop[0.3].predict(test, task)
    test.at[test.index[0], "curve_steps"] = [100.0]
    test.at[test.index[0], "curve_eval_metric"] = [0.3]
    out = early_stop[0.3].predict(test, task)
    assert np.isfinite(before.p_success).all()
    assert np.isnan(out.p_success[0]) and np.isfinite(out.p_success[1:]).all()


def test_linear_early_stop(split: tuple[pd.DataFrame, pd.DataFrame, Task]) -> None:
    train, test, task = split
    m = LinearEarlyStop(0.1)
    m.fit(train, task, 0)
    assert m.coef is not None and m.coef.shape == (3,)
    out = m.predict(test, task)
    y = test["final_metric"].to_numpy()
    assert _rmse(out.metric, y) < np.std(y)
    np.testing.assert_allclose(out.decide_cost, 0.1 * test["cost_full"].to_numpy())


def test_majority(split: tuple[pd.DataFrame, pd.DataFrame, Task]) -> None:
    train, test, task = split
    m = Majority()
    m.fit(train, task, 0)
    out = m.predict(test, task)
    rate = float(np.mean(task.success(train)))
    assert np.all(out.p_success == rate) and np.all(out.decide_cost == 0)
    assert m.unavailable(train, Task(threshold=None)) is not None


def test_residual_head_reads_squeezed_forecasts_against_the_bar() -> None:
    """Forecasts pulled to the middle, bars high where runs learn and low where they do not: one residual
    spread for all runs then ranks hopeless runs first; the bar classifier must take over and rank right."""
    from tuneahead.baselines.base import ResidualHead

    rng = np.random.default_rng(5)
    n = 240
    easy = rng.random(n) < 0.5
    y = np.where(easy, rng.normal(0.9, 0.06, n), rng.normal(0.03, 0.02, n)).clip(0, 1)
    bars = np.where(easy, 0.85, 0.10)
    forecasts = 0.3 + 0.25 * (y - 0.3) + rng.normal(0, 0.02, n)
    head = ResidualHead(y - forecasts, forecasts=forecasts, thresholds=bars, seed=0)
    assert head.p_source == "bar"
    p = head.output(forecasts, bars, np.zeros(n), prefix=False).p_success
    success = y >= bars
    assert p[success].mean() > p[~success].mean() + 0.3
    residual_only = ResidualHead(y - forecasts).output(forecasts, bars, np.zeros(n), prefix=False).p_success
    assert residual_only[success].mean() < residual_only[~success].mean()  # the failure the bar head fixes
