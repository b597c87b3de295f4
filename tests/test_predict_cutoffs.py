"""GO / NO-GO cut-offs from a cost ratio, set on training runs' out-of-fold P(success)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tuneahead.gate.policy import Decision, Policy, judge
from tuneahead.predict.cutoffs import (
    MIN_SUPPORT,
    cut_offs_for_stakes,
    fixed_cut_offs,
    required_precisions,
)


def calibrated_runs(n: int = 2000, base_rate: float = 0.4, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Runs whose P is calibrated: each succeeds with probability P."""
    rng = np.random.default_rng(seed)
    a = 2 * base_rate
    p = rng.beta(a, 2 * (1 - base_rate), n)
    return p, rng.random(n) < p


def test_at_even_stakes_the_required_precisions_are_the_former_fixed_cut_offs() -> None:
    p_star, q_go, q_no = required_precisions(1.0)
    assert (p_star, q_go, q_no) == pytest.approx((0.5, 0.7, 0.7))
    fixed = fixed_cut_offs(1.0)
    assert (fixed.go_at, fixed.no_go_at) == pytest.approx((0.7, 0.3))


def test_verdicts_keep_their_promise_on_the_runs_they_were_set_on() -> None:
    p, s = calibrated_runs()
    for ratio in (0.5, 1.0, 3.0):
        cut = cut_offs_for_stakes(ratio, p, s)
        go, no_go = p >= cut.go_at, p <= cut.no_go_at
        assert s[go].mean() >= cut.go_precision_required
        assert (~s[no_go]).mean() >= cut.no_go_precision_required
        assert cut.no_go_at <= cut.break_even <= cut.go_at  # each verdict is the cheaper bet for the run


def test_dearer_lost_successes_make_go_easier_and_no_go_harder() -> None:
    p, s = calibrated_runs()
    cheap, even, dear = (cut_offs_for_stakes(r, p, s) for r in (0.25, 1.0, 4.0))
    assert cheap.go_at > even.go_at > dear.go_at
    assert cheap.no_go_at > even.no_go_at > dear.no_go_at


def test_a_lower_base_rate_is_taken_into_account() -> None:
    # The same P on runs that succeed less often than P says (over-confident): GO must ask for more.
    p, _ = calibrated_runs(seed=1)
    rng = np.random.default_rng(2)
    honest = rng.random(len(p)) < p
    optimistic = rng.random(len(p)) < 0.6 * p
    assert cut_offs_for_stakes(1.0, p, optimistic).go_at > cut_offs_for_stakes(1.0, p, honest).go_at


def test_a_verdict_no_cut_keeps_is_not_given() -> None:
    rng = np.random.default_rng(3)
    p = rng.random(500)
    s = rng.random(500) < 0.5  # P says nothing about success
    cut = cut_offs_for_stakes(1.0, p, s)
    assert math.isinf(cut.go_at) and math.isinf(cut.no_go_at)
    policy = Policy.for_stakes(cut)
    assert judge(0.99, ood=False, diverged=False, policy=policy).decision is Decision.UNCERTAIN
    assert judge(0.01, ood=False, diverged=False, policy=policy).decision is Decision.UNCERTAIN
    assert policy.describe()["go_at"] is None
    # A rule still decides: a diverged probe is a NO-GO whatever the cut-offs.
    assert judge(0.5, ood=False, diverged=True, policy=policy).decision is Decision.NO_GO


def test_too_few_runs_fall_back_to_the_stakes_alone() -> None:
    cut = cut_offs_for_stakes(1.0, np.array([0.9] * (MIN_SUPPORT - 1)), np.ones(MIN_SUPPORT - 1, bool))
    assert (cut.go_at, cut.no_go_at) == pytest.approx((0.7, 0.3)) and "alone" in cut.basis


def test_a_cut_off_the_user_fixes_wins_and_is_reported() -> None:
    p, s = calibrated_runs()
    policy = Policy.for_stakes(cut_offs_for_stakes(1.0, p, s), go_at=0.9)
    assert policy.go_at == 0.9 and policy.no_go_at < 0.5
    assert "fixed by the user" in policy.describe()["basis"]


@pytest.mark.parametrize("bad", [0.0, -1.0, math.inf, math.nan])
def test_the_cost_ratio_is_a_positive_number(bad: float) -> None:
    with pytest.raises(ValueError):
        required_precisions(bad)
