"""Metrics, savings accounting, bootstrap intervals and group-aware folds."""

from __future__ import annotations

import numpy as np
import pytest

from tuneahead.evaluate.metrics import (
    MethodOutput,
    auroc,
    bootstrap,
    compute_metrics,
    default_tolerance,
    mean_over_repeats,
    savings,
)
from tuneahead.predict.splits import group_folds


def test_savings_formula_by_hand() -> None:
    cost_full = np.array([100.0, 100.0, 200.0, 100.0])
    success = np.array([True, False, False, True])
    decide = np.array([2.0, 2.0, 4.0, 2.0])
    let_through = np.array([True, False, False, False])  # stops both failures and one success
    s = savings(cost_full, decide, let_through, success)
    # spent = all probes (10) + full cost of the run let through (100) out of 500.
    assert s["savings"] == pytest.approx(1 - 110 / 500)
    assert s["oracle_savings"] == pytest.approx(300 / 500)
    assert s["successes_lost"] == 1
    assert s["decide_cost_share"] == pytest.approx(10 / 500)
    assert s["savings_of_oracle"] == pytest.approx((1 - 110 / 500) / (300 / 500))


def test_prefix_costs_are_not_paid_twice() -> None:
    cost_full = np.array([100.0, 100.0])
    decide = np.array([20.0, 20.0])  # the first 20 % of each live run
    let_through = np.array([True, False])
    s = savings(cost_full, decide, let_through, np.array([True, False]), cost_is_prefix=True)
    assert s["savings"] == pytest.approx(1 - (100 + 20) / 200)
    s2 = savings(cost_full, decide, let_through, np.array([True, False]), cost_is_prefix=False)
    assert s2["savings"] == pytest.approx(1 - (100 + 40) / 200)


def test_unknown_costs_give_unknown_savings() -> None:
    s = savings(np.array([1.0, 1.0]), np.array([np.nan, 0.1]), np.array([True, True]), np.array([True, False]))
    assert np.isnan(s["savings"]) and s["oracle_savings"] == pytest.approx(0.5)


def test_auroc_matches_sklearn() -> None:
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    y = rng.random(300) < 0.4
    s = y * 0.5 + rng.normal(size=300)
    s[:20] = np.round(s[:20])  # ties
    assert auroc(s, y) == pytest.approx(roc_auc_score(y, s))
    assert np.isnan(auroc(s, np.ones(300, dtype=bool)))


def test_compute_metrics_on_a_small_case() -> None:
    y = np.array([0.8, 0.3, 0.6, 0.2])
    success = y >= 0.5
    out = MethodOutput(
        metric=np.array([0.79, 0.4, 0.4, 0.21]),
        lo=np.array([0.7, 0.2, 0.3, 0.1]),
        hi=np.array([0.9, 0.5, 0.5, 0.3]),
        p_success=np.array([0.9, 0.2, 0.3, np.nan]),  # last run undecided: let through
        decide_cost=np.ones(4),
    )
    m = compute_metrics(y, success, np.full(4, 10.0), out, tolerance=0.03)
    assert m["success_recall"] == pytest.approx(0.5)  # run 3 (a success) was stopped
    assert m["failure_recall"] == pytest.approx(0.5)  # run 4 (a failure) was let through undecided
    assert m["balanced_accuracy"] == pytest.approx(0.5)
    assert m["within_tol"] == pytest.approx(0.5)
    assert m["interval_coverage"] == pytest.approx(0.75)
    assert m["undecided_share"] == pytest.approx(0.25)
    assert m["savings"] == pytest.approx(1 - (4 + 20) / 40)
    assert m["brier"] == pytest.approx(np.mean([0.01, 0.04, 0.49]))
    # Verdicts at 0.3 / 0.7: run 1 GO (a success), runs 2 and 3 NO-GO (a failure and a success), run 4
    # without a P is UNCERTAIN.
    assert (m["go_share"], m["no_go_share"], m["uncertain_share"]) == pytest.approx((0.25, 0.5, 0.25))
    assert m["go_precision"] == pytest.approx(1.0) and m["no_go_precision"] == pytest.approx(0.5)


def test_default_tolerance_follows_the_scale() -> None:
    assert default_tolerance(np.array([0.2, 0.9])) == 0.03
    assert default_tolerance(np.array([20.0, 90.0])) == 3.0


def test_bootstrap_interval_brackets_the_point_estimate() -> None:
    rng = np.random.default_rng(1)
    y = rng.random(400)
    success = y > 0.5
    outs = [MethodOutput(y + rng.normal(0, 0.1, 400), y - 1, y + 1, np.clip(y + rng.normal(0, 0.2, 400), 0, 1),
                         np.zeros(400)) for _ in range(2)]

    def stat(idx: np.ndarray | None) -> dict[str, float]:
        return mean_over_repeats(y, success, np.ones(400), outs, tolerance=0.03, decision_threshold=0.5, index=idx)

    point = stat(None)
    ci = bootstrap(stat, 400, n_boot=200, seed=0, strata=success)
    for key in ("auroc", "rmse", "balanced_accuracy"):
        lo, hi = ci[key]
        assert lo <= point[key] <= hi and hi - lo < 0.2
    assert ci["interval_coverage"] == (1.0, 1.0)


def test_group_folds_never_split_a_group() -> None:
    groups = np.array([f"g{i % 9}" for i in range(200)])
    for seed in range(3):
        folds = group_folds(200, groups, 4, seed)
        for g in np.unique(groups):
            assert len(np.unique(folds[groups == g])) == 1
        sizes = np.bincount(folds)
        assert len(sizes) == 4 and sizes.min() > 0
    assert not np.array_equal(group_folds(200, groups, 4, 0), group_folds(200, groups, 4, 1))


def test_few_groups_means_leave_one_group_out() -> None:
    groups = np.array(["a"] * 5 + ["b"] * 7 + ["c"] * 3)
    folds = group_folds(15, groups, 5, 0)
    assert len(np.unique(folds)) == 3


def test_without_groups_folds_are_random_and_balanced() -> None:
    folds = group_folds(103, None, 5, 0)
    assert set(np.bincount(folds)) <= {20, 21}
    single = group_folds(10, np.array(["x"] * 10), 5, 0)
    assert len(np.unique(single)) == 5


def test_the_evaluation_s_default_verdict_cut_offs_are_the_gate_s() -> None:
    # evaluate/ does not import the gate; this keeps its default equal to the gate's Policy.
    from tuneahead.evaluate.harness import EvalConfig
    from tuneahead.evaluate.metrics import VERDICT_THRESHOLDS
    from tuneahead.gate.policy import Policy

    assert VERDICT_THRESHOLDS == EvalConfig().verdict_thresholds == (Policy().no_go_at, Policy().go_at)
