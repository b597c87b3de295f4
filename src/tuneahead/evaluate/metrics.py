"""Metrics of a triage gate: classification, regression, intervals and compute savings.

Cost accounting is the same for every method: a method that needs cost c to decide pays c on every
run, and each run it lets through also pays its full cost. One exception is physical, not a favour:
when the decision cost is the *beginning of the live run itself* (early-stop methods), a run that is
let through simply continues, so it pays its full cost once and a stopped run pays the prefix.
A run the method cannot judge (no probability) is let through: a gate that cannot see must not block.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

    from tuneahead.store.table import Task


METRIC_NAMES: tuple[str, ...] = (
    "success_recall",
    "failure_recall",
    "balanced_accuracy",
    "auroc",
    "brier",
    "rmse",
    "within_tol",
    "interval_coverage",
    "interval_width",
    *(f"coverage_decile_{k}" for k in range(1, 11)),
    "decide_cost_share",
    "savings",
    "savings_of_oracle",
    "successes_lost",
    "undecided_share",
    "go_share",
    "go_precision",
    "no_go_share",
    "no_go_precision",
    "uncertain_share",
    "go_at",
    "no_go_at",
    "decided_share",
    "verdict_successes_lost",
    "verdict_savings_of_oracle",
)
# The gate's default NO-GO / GO cut-offs (`tuneahead.gate.policy.Policy`; evaluate does not import the gate,
# and tests/test_evaluate_metrics.py checks that the two agree). Pass others through `EvalConfig`.
VERDICT_THRESHOLDS: tuple[float, float] = (0.3, 0.7)


@dataclass(frozen=True)
class MethodOutput:
    """Per-run outputs of one method on one test set (NaN where a method has nothing to say)."""

    metric: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    p_success: np.ndarray
    decide_cost: np.ndarray
    cost_is_prefix: bool = False
    # Per-run GO / NO-GO cut-offs the method set for the stakes on its own training runs (None: the
    # evaluation's verdict thresholds). +inf / -inf: that verdict is not given.
    go_at: np.ndarray | None = None
    no_go_at: np.ndarray | None = None

    @classmethod
    def point_only(cls, metric: np.ndarray, decide_cost: np.ndarray, cost_is_prefix: bool = False) -> MethodOutput:
        """A forecast without interval or probability (every run undecided)."""
        nan = np.full(len(metric), np.nan)
        return cls(metric, nan, nan.copy(), nan.copy(), decide_cost, cost_is_prefix)

    def subset(self, index: np.ndarray) -> MethodOutput:
        return MethodOutput(
            self.metric[index], self.lo[index], self.hi[index], self.p_success[index], self.decide_cost[index],
            self.cost_is_prefix,
            None if self.go_at is None else self.go_at[index],
            None if self.no_go_at is None else self.no_go_at[index],
        )


@runtime_checkable
class Method(Protocol):
    """What every method in an evaluation implements: fitted on training runs only, then predicting test
    runs, with what it costs to decide on a run (its probe, its proxy run, a prefix of the live run)."""

    name: str
    description: str

    def unavailable(self, table: pd.DataFrame, task: Task) -> str | None:
        """Why this method cannot run on `table` (missing columns, …), or None when it can."""

    def fit(self, train: pd.DataFrame, task: Task, seed: int) -> None: ...

    def predict(self, test: pd.DataFrame, task: Task) -> MethodOutput: ...


def auroc(score: np.ndarray, positive: np.ndarray) -> float:
    """Area under the ROC curve via the rank-sum (ties get average ranks); NaN with one class."""
    from scipy.stats import rankdata

    ok = np.isfinite(score)
    s, y = score[ok], positive[ok].astype(bool)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(s)
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def default_tolerance(y: np.ndarray) -> float:
    """±3 percentage points: 0.03 for scores in [0, 1], 3 for scores in [0, 100]."""
    finite = y[np.isfinite(y)]
    return 0.03 if len(finite) == 0 or np.nanmax(np.abs(finite)) <= 1.0 else 3.0


COVERAGE_DECILES = 10


def coverage_by_decile(y: np.ndarray, out: MethodOutput, has_iv: np.ndarray) -> dict[str, float]:
    """Interval coverage within each tenth of the runs ranked by their forecast (`coverage_decile_1` holds
    the lowest forecasts): a marginal coverage can hide intervals too narrow at one end of the range."""
    idx = np.flatnonzero(has_iv & np.isfinite(out.metric))
    parts = np.array_split(idx[np.argsort(out.metric[idx], kind="stable")], COVERAGE_DECILES)
    return {
        f"coverage_decile_{k}": (float(np.mean((y[part] >= out.lo[part]) & (y[part] <= out.hi[part])))
                                 if len(part) else float("nan"))
        for k, part in enumerate(parts, start=1)
    }


def compute_metrics(
    y: np.ndarray,
    success: np.ndarray,
    cost_full: np.ndarray,
    out: MethodOutput,
    *,
    tolerance: float,
    decision_threshold: float = 0.5,
    verdict_thresholds: tuple[float, float] = VERDICT_THRESHOLDS,
) -> dict[str, float]:
    """All metrics of one method on one set of runs (arrays aligned by run).

    Besides the let-through decision at `decision_threshold`, the three-way verdict a gate gives at
    `verdict_thresholds` (NO-GO at P <= low, GO at P >= high, UNCERTAIN between or without a P): how
    often each verdict is given, and how often a GO was followed by success and a NO-GO by failure.
    """
    success = success.astype(bool)
    p = out.p_success
    decided = np.isfinite(p)
    let_through = ~decided | (p >= decision_threshold)
    failure = ~success
    m: dict[str, float] = {}
    m["success_recall"] = _ratio((success & let_through).sum(), success.sum())
    m["failure_recall"] = _ratio((failure & ~let_through).sum(), failure.sum())
    m["balanced_accuracy"] = float(np.nanmean([m["success_recall"], m["failure_recall"]]))
    m["auroc"] = auroc(np.where(decided, p, np.nan), success) if decided.any() else float("nan")
    m["brier"] = float(np.mean((p[decided] - success[decided]) ** 2)) if decided.any() else float("nan")
    has_pred = np.isfinite(out.metric) & np.isfinite(y)
    err = out.metric[has_pred] - y[has_pred]
    m["rmse"] = float(np.sqrt(np.mean(err**2))) if has_pred.any() else float("nan")
    m["within_tol"] = float(np.mean(np.abs(err) <= tolerance + 1e-12)) if has_pred.any() else float("nan")
    has_iv = np.isfinite(out.lo) & np.isfinite(out.hi) & np.isfinite(y)
    m["interval_coverage"] = (
        float(np.mean((y[has_iv] >= out.lo[has_iv]) & (y[has_iv] <= out.hi[has_iv]))) if has_iv.any() else float("nan")
    )
    m["interval_width"] = float(np.mean(out.hi[has_iv] - out.lo[has_iv])) if has_iv.any() else float("nan")
    m.update(coverage_by_decile(y, out, has_iv))
    m.update(savings(cost_full, out.decide_cost, let_through, success, cost_is_prefix=out.cost_is_prefix))
    m["undecided_share"] = float(np.mean(~decided))
    low = np.full(p.shape, float(verdict_thresholds[0]))
    high = np.full(p.shape, float(verdict_thresholds[1]))
    if out.go_at is not None and out.no_go_at is not None:
        low, high = out.no_go_at, out.go_at  # the method's own cut-offs for the stakes
    for key, cut in (("no_go_at", low), ("go_at", high)):
        m[key] = float(np.mean(cut[np.isfinite(cut)])) if np.isfinite(cut).any() else float("nan")
    go, no_go = decided & (p >= high), decided & (p <= low)
    m["go_share"], m["no_go_share"] = float(np.mean(go)), float(np.mean(no_go))
    m["uncertain_share"] = float(np.mean(~(go | no_go)))
    m["decided_share"] = float(np.mean(go | no_go))
    m["go_precision"] = _ratio((go & success).sum(), go.sum())
    m["no_go_precision"] = _ratio((no_go & failure).sum(), no_go.sum())
    # The three-way gate stops only its NO-GO runs (an UNCERTAIN one is the user's call; counted as run).
    stopped = savings(cost_full, out.decide_cost, ~no_go, success, cost_is_prefix=out.cost_is_prefix)
    m["verdict_successes_lost"] = stopped["successes_lost"]
    m["verdict_savings_of_oracle"] = stopped["savings_of_oracle"]
    return m


def savings(
    cost_full: np.ndarray,
    decide_cost: np.ndarray,
    let_through: np.ndarray,
    success: np.ndarray,
    *,
    cost_is_prefix: bool = False,
) -> dict[str, float]:
    """Compute savings = 1 − (Σ decision cost + Σ full cost of runs let through) / Σ full cost.

    NaN when a needed cost is unknown. `oracle_savings` is what a perfect gate saves: the full cost of
    the failed runs. `successes_lost` counts successful runs the gate would have stopped; stopping them
    saves compute too, which is why `savings_of_oracle` can exceed 1 — read it next to successes lost.
    """
    total = float(np.sum(cost_full))
    out = {
        "oracle_savings": _ratio(float(np.sum(cost_full[~success])), total),
        "successes_lost": float(np.sum(success & ~let_through)),
        "decide_cost_share": _ratio(float(np.sum(decide_cost)), total),
    }
    if not np.all(np.isfinite(cost_full)) or not np.all(np.isfinite(decide_cost)) or total <= 0:
        out.update(savings=float("nan"), savings_of_oracle=float("nan"))
        return out
    if cost_is_prefix:
        spent = np.where(let_through, cost_full, decide_cost)
    else:
        spent = decide_cost + np.where(let_through, cost_full, 0.0)
    out["savings"] = 1.0 - float(np.sum(spent)) / total
    out["savings_of_oracle"] = _ratio(out["savings"], out["oracle_savings"])
    return out


def _ratio(a: float, b: float) -> float:
    return float(a) / float(b) if b else float("nan")


def mean_over_repeats(
    y: np.ndarray,
    success: np.ndarray,
    cost_full: np.ndarray,
    outputs: Sequence[MethodOutput],
    *,
    tolerance: float,
    decision_threshold: float,
    verdict_thresholds: tuple[float, float] = VERDICT_THRESHOLDS,
    index: np.ndarray | None = None,
) -> dict[str, float]:
    """Metrics averaged over repeated seeds (each repeat predicts every run once), optionally on a resample."""
    per = []
    for o in outputs:
        if index is not None:
            o = o.subset(index)
        yy, ss, cc = (y, success, cost_full) if index is None else (y[index], success[index], cost_full[index])
        per.append(compute_metrics(yy, ss, cc, o, tolerance=tolerance, decision_threshold=decision_threshold,
                                   verdict_thresholds=verdict_thresholds))
    keys = per[0].keys()
    with np.errstate(all="ignore"):
        return {k: float(np.nanmean([d[k] for d in per])) if any(np.isfinite(d[k]) for d in per) else float("nan")
                for k in keys}


def bootstrap(
    stat: Callable[[np.ndarray | None], dict[str, float]],
    n: int,
    *,
    n_boot: int = 500,
    level: float = 0.95,
    seed: int = 0,
    strata: np.ndarray | None = None,
) -> dict[str, tuple[float, float]]:
    """Percentile bootstrap CIs over runs: resample runs with replacement, recompute every metric.

    With `strata` (e.g. success labels), each stratum is resampled on its own so rare outcomes are
    always present.
    """
    rng = np.random.default_rng(seed)
    samples: dict[str, list[float]] = {}
    groups = [np.arange(n)] if strata is None else [np.flatnonzero(strata == s) for s in np.unique(strata)]
    for _ in range(n_boot):
        idx = np.concatenate([g[rng.integers(0, len(g), len(g))] for g in groups if len(g)])
        for k, v in stat(idx).items():
            samples.setdefault(k, []).append(v)
    a = (1 - level) / 2
    out = {}
    for k, vals in samples.items():
        arr = np.asarray(vals, dtype=float)
        arr = arr[np.isfinite(arr)]
        out[k] = (float(np.quantile(arr, a)), float(np.quantile(arr, 1 - a))) if len(arr) else (np.nan, np.nan)
    return out
