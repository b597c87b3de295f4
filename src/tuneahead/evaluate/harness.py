"""Held-out evaluation of the predictor against baselines on the same runs.

For each seed, runs are split into folds by group (task family, model size, or any column): every
method is fitted on the training groups only and predicts the held-out group, so nothing is tuned on
the test fold — the predictor's own inner cross-fitting (calibration, conformal residuals, number of
trees) also only ever sees training groups. Each run thus gets one prediction per seed; metrics are
averaged over seeds, and bootstrap confidence intervals resample runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from tuneahead.errors import InputError, Location, TuneAheadError
from tuneahead.evaluate.metrics import (
    VERDICT_THRESHOLDS,
    Method,
    MethodOutput,
    bootstrap,
    default_tolerance,
    mean_over_repeats,
)
from tuneahead.predict.splits import group_folds
from tuneahead.store.table import COST_FULL, Task, require_columns

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class EvalConfig:
    split_by: str | None = "family"  # None: random folds over runs
    # One fixed split instead of folds: train on every other group of `split_by`, score on this one
    # (e.g. train on the small models, test on the largest).
    test_group: str | None = None
    n_folds: int = 5
    seeds: tuple[int, ...] = (0, 1, 2)
    decision_threshold: float = 0.5  # let a run through when P(success) >= this
    n_boot: int = 500
    ci_level: float = 0.95
    tolerance: float | None = None  # ±3 pp by default (0.03 or 3 depending on the metric's scale)
    verdict_thresholds: tuple[float, float] = VERDICT_THRESHOLDS  # (NO-GO at or below, GO at or above)
    # The stakes (see `predict.cutoffs`): a method that can set its own cut-offs on its training runs
    # (`cut_offs(cost_ratio)`) is judged at those; the others at `verdict_thresholds`.
    cost_ratio: float = 1.0


@dataclass
class MethodResult:
    name: str
    description: str
    status: str  # "ok", "skipped" or "failed"
    note: str = ""
    metrics: dict[str, float] = field(default_factory=dict)
    ci: dict[str, tuple[float, float]] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "status": self.status,
            "note": self.note,
            "metrics": self.metrics,
            "ci": {k: list(v) for k, v in self.ci.items()},
            "seconds": round(self.seconds, 2),
        }


@dataclass
class EvaluationResult:
    config: EvalConfig
    task: Task
    n_runs: int
    n_groups: int | None
    n_success: int
    tolerance: float
    oracle_savings: float
    methods: list[MethodResult]
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_runs": self.n_runs,
            "n_success": self.n_success,
            "n_groups": self.n_groups,
            "split_by": self.config.split_by,
            "test_group": self.config.test_group,
            "n_folds": self.config.n_folds,
            "seeds": list(self.config.seeds),
            "decision_threshold": self.config.decision_threshold,
            "ci_level": self.config.ci_level,
            "n_boot": self.config.n_boot,
            "tolerance": self.tolerance,
            "target": self.task.target,
            "threshold": self.task.threshold,
            "oracle_savings": self.oracle_savings,
            "notes": self.notes,
            "methods": [m.to_dict() for m in self.methods],
        }

    def method(self, name: str) -> MethodResult:
        return next(m for m in self.methods if m.name == name)



def evaluate(
    table: pd.DataFrame,
    task: Task,
    methods: Sequence[Method],
    config: EvalConfig = EvalConfig(),
    progress: Callable[[str], None] | None = None,
) -> EvaluationResult:
    say = progress or (lambda _msg: None)
    if task.threshold is None:
        raise InputError("evaluation needs a success threshold (a number or a per-run threshold column)",
                         Location(field="threshold"))
    if config.split_by is not None:
        require_columns(table, [config.split_by], what="split")
    elif config.test_group is not None:
        raise InputError("a test group needs a split column (--split-by) to be a group of",
                         Location(field="test_on"))
    task = replace(task, group_col=config.split_by)
    task = task.resolve(table)
    notes: list[str] = []

    y_all = table[task.target].to_numpy(dtype=float)
    keep = np.isfinite(y_all) & np.isfinite(task.thresholds(table))
    if (~keep).any():
        notes.append(f"{int((~keep).sum())} runs without a target value or threshold were left out")
    table = table.loc[keep].reset_index(drop=True)
    n = len(table)
    if n < 20:
        raise InputError(f"need at least 20 runs to evaluate, got {n}")
    y = table[task.target].to_numpy(dtype=float)
    success = task.success(table)
    if COST_FULL in table.columns:
        cost_full = table[COST_FULL].to_numpy(dtype=float)
    else:
        cost_full = np.full(n, np.nan)
        notes.append(f"no {COST_FULL} column: compute savings cannot be computed")
    groups = table[config.split_by].to_numpy() if config.split_by else None
    n_groups = len(set(map(str, groups))) if groups is not None else None
    if groups is not None and n_groups is not None and n_groups < 2:
        raise InputError(f"split column {config.split_by!r} has a single value; cannot hold a group out",
                         Location(field=config.split_by))
    tol = config.tolerance if config.tolerance is not None else default_tolerance(y)
    tested = np.ones(n, dtype=bool)
    if config.test_group is not None:
        tested = np.asarray([str(g) == config.test_group for g in groups])  # type: ignore[union-attr]
        if not tested.any() or tested.all():
            raise InputError(
                f"--test-on {config.test_group!r}: {config.split_by!r} needs runs in that group and in others "
                f"(groups: {', '.join(sorted(set(map(str, groups))))})",  # type: ignore[arg-type]
                Location(field="test_on"))
        notes.append(f"trained on the {int((~tested).sum())} runs of the other {config.split_by} groups, "
                     f"scored on the {int(tested.sum())} runs of {config.split_by} = {config.test_group}")

    # What is scored: the runs that get predictions (all of them, or the test group's).
    y_scored, success_scored, cost_scored = y[tested], success[tested], cost_full[tested]

    def folds_for(seed: int) -> np.ndarray:
        if config.test_group is not None:
            return np.where(tested, 0, -1)  # -1: a training run only, never predicted
        return group_folds(n, groups, config.n_folds, seed)

    methods = list(methods)  # the default list lives with the baselines (`baselines.default_methods`)
    results: list[MethodResult] = []
    outputs_by_method: dict[str, list[MethodOutput]] = {}

    for m in methods:
        why = m.unavailable(table, task)
        if why:
            results.append(MethodResult(m.name, m.description, "skipped", why))
            say(f"{m.name}: skipped ({why})")
            continue
        start = time.perf_counter()
        try:
            outputs = [cross_predict(m, table, task, folds_for(seed), seed, config.cost_ratio).subset(tested)
                       for seed in config.seeds]
        except TuneAheadError as exc:
            results.append(MethodResult(m.name, m.description, "failed", exc.message))
            say(f"{m.name}: failed ({exc.message})")
            continue
        if getattr(m, "ranks_runs", True):
            outputs_by_method[m.name] = outputs
        res = _score(m.name, m.description, y_scored, success_scored, cost_scored, outputs, tol, config)
        res.seconds = time.perf_counter() - start
        if np.isnan(res.metrics.get("savings", np.nan)) and np.isfinite(cost_full).all():
            res.note = "decision cost unknown (cost column missing): savings not computed"
        if res.metrics.get("undecided_share", 0) > 0:
            share = res.metrics["undecided_share"]
            res.note = (res.note + "; " if res.note else "") + f"{share:.0%} of runs undecidable (let through)"
        results.append(res)
        say(f"{m.name}: done in {res.seconds:.1f}s")
    y, success, cost_full = y_scored, success_scored, cost_scored
    oracle = MethodOutput(y, y, y, success.astype(float), np.zeros(len(y)))
    common = _paired_auroc(outputs_by_method, results, success)
    if common:
        notes.append(f"AUROC on common runs: on the {common} runs that every method with a P(success) decided "
                     "(ProxyLM cannot judge runs on the smallest model), so methods compare on the same runs")
    oracle_res = _score("oracle", "perfect foresight at no cost (reference)", y, success, cost_full, [oracle], tol, config)
    results.append(oracle_res)
    return EvaluationResult(
        config=config,
        task=task,
        n_runs=int(tested.sum()),
        n_groups=n_groups,
        n_success=int(success.sum()),
        tolerance=tol,
        oracle_savings=oracle_res.metrics.get("oracle_savings", float("nan")),
        methods=results,
        notes=notes,
    )


def _paired_auroc(outputs: dict[str, list[MethodOutput]], results: list[MethodResult], success: np.ndarray) -> int:
    """Adds `auroc_common` to each method: AUROC over the runs every ranking method decided (all seeds).

    Methods differ in which runs they can judge; AUROC on each one's own subset is not a fair
    comparison. `outputs` holds the methods that rank runs (not the majority guess).
    Returns the number of common runs (0 when there is nothing to pair).
    """
    from tuneahead.evaluate.metrics import auroc

    ranking = {name: outs for name, outs in outputs.items() if any(np.isfinite(o.p_success).any() for o in outs)}
    if len(ranking) < 2:
        return 0
    common = np.ones(len(success), dtype=bool)
    for outs in ranking.values():
        for o in outs:
            common &= np.isfinite(o.p_success)
    if common.sum() < 10 or len(set(success[common].tolist())) < 2:
        return 0
    for res in results:
        if res.name in ranking:
            res.metrics["auroc_common"] = float(np.mean([auroc(o.p_success[common], success[common])
                                                          for o in ranking[res.name]]))
    return int(common.sum())


def cross_predict(
    method: Method, table: pd.DataFrame, task: Task, folds: np.ndarray, seed: int, cost_ratio: float
) -> MethodOutput:
    """Each fold predicted by the method fitted on the others; with the fold's own stakes-based cut-offs when
    the method sets them (an optional `cut_offs(cost_ratio)`, e.g. the predictor's)."""
    n = len(table)
    arrays = {k: np.full(n, np.nan) for k in ("metric", "lo", "hi", "p_success", "decide_cost")}
    sets_cut_offs = callable(getattr(method, "cut_offs", None))
    go_at, no_go_at = np.full(n, np.nan), np.full(n, np.nan)
    prefix = False
    for f in np.unique(folds[folds >= 0]):  # fold -1: training runs that are never predicted
        test = folds == f
        method.fit(table.loc[~test], task, seed)
        out = method.predict(table.loc[test], task)
        prefix = out.cost_is_prefix
        for k, values in arrays.items():
            values[test] = getattr(out, k)
        if sets_cut_offs:
            cut = method.cut_offs(cost_ratio)  # type: ignore[attr-defined]
            go_at[test], no_go_at[test] = cut.go_at, cut.no_go_at
    if not sets_cut_offs:
        return MethodOutput(**arrays, cost_is_prefix=prefix)
    return MethodOutput(**arrays, cost_is_prefix=prefix, go_at=go_at, no_go_at=no_go_at)


def _score(
    name: str,
    description: str,
    y: np.ndarray,
    success: np.ndarray,
    cost_full: np.ndarray,
    outputs: list[MethodOutput],
    tol: float,
    config: EvalConfig,
) -> MethodResult:
    def stat(index: np.ndarray | None) -> dict[str, float]:
        return mean_over_repeats(y, success, cost_full, outputs, tolerance=tol,
                                 decision_threshold=config.decision_threshold,
                                 verdict_thresholds=config.verdict_thresholds, index=index)

    point = stat(None)
    ci = bootstrap(stat, len(y), n_boot=config.n_boot, level=config.ci_level, seed=0, strata=success) \
        if config.n_boot > 0 else {}
    return MethodResult(name, description, "ok", metrics=point, ci=ci)
