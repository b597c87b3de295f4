"""The live gate measured on stored runs: the pre-flight verdict, then re-forecasts from the run's own curve.

A run that the pre-flight check lets through is watched: at 10, 20 and 30 % of its steps the live
predictor — the TuneAhead predictor given the pre-flight features plus what the run's eval-metric curve
has shown so far (`live_*` columns) — gives P(success), and the run is stopped at the first point where
P falls to its NO-GO cut-off (set, like the check's, on the predictor's own training runs). `replay`
cross-fits everything by task family and accounts compute as a user would pay it: the probe for every
run, then the share of the full run each let-through run used.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from tuneahead.baselines.base import cost_column, prefix_cost
from tuneahead.baselines.live_rule import project_final
from tuneahead.baselines.ours import PredictorMethod
from tuneahead.evaluate.metrics import MethodOutput
from tuneahead.store.table import COST_FULL, COST_PROBE, CURVE_EVAL_METRIC, CURVE_STEPS, Task

if TYPE_CHECKING:
    import pandas as pd

LIVE_FRACTIONS = (0.1, 0.2, 0.3)


def live_columns(fraction: float) -> tuple[str, ...]:
    """The live columns known by `fraction` of the run (those of earlier fractions included)."""
    return tuple(f"live_{kind}_{round(f * 100)}" for f in LIVE_FRACTIONS if f <= fraction + 1e-9
                 for kind in ("eval_metric", "eval_metric_max", "projection"))


def live_values(steps: Sequence[float] | np.ndarray, values: Sequence[float] | np.ndarray,
                total_steps: float) -> dict[str, float]:
    """A run's live columns from its eval-metric curve so far, for every fraction: the metric at its last
    evaluation by f, the best by f, and the curve by f projected to the run's end (NaN where nothing was
    evaluated by f). `total_steps`: the run's planned length."""
    x_all = 100.0 * np.asarray(steps, float) / total_steps
    y_all = np.asarray(values, float)
    out: dict[str, float] = {}
    for f in LIVE_FRACTIONS:
        keep = (x_all <= 100.0 * f + 1e-9) & np.isfinite(y_all)
        x, y = x_all[keep], y_all[keep]
        pct = round(f * 100)
        out[f"live_eval_metric_{pct}"] = float(y[-1]) if len(y) else math.nan
        out[f"live_eval_metric_max_{pct}"] = float(y.max()) if len(y) else math.nan
        out[f"live_projection_{pct}"] = project_final(x, y, 100.0) if len(y) else math.nan
    return out


def add_live_columns(table: pd.DataFrame) -> pd.DataFrame:
    """The table with each run's live columns (`live_values`); a stored run's length is its last logged step."""
    import pandas as pd

    rows = []
    for steps, values in zip(table[CURVE_STEPS], table[CURVE_EVAL_METRIC], strict=True):
        steps = np.asarray(steps, float)
        total = float(np.nanmax(steps)) if len(steps) else math.nan
        rows.append(live_values(steps, values, total) if total > 0 else {})
    live = pd.DataFrame(rows, index=table.index, columns=list(live_columns(max(LIVE_FRACTIONS))))
    return pd.concat([table, live], axis=1)


class LiveGateMethod(PredictorMethod):
    """The predictor on the pre-flight features plus the live curve by `fraction` of the run."""

    def __init__(self, fraction: float, predictor_kwargs: dict[str, Any] | None = None) -> None:
        super().__init__(
            f"live-{round(fraction * 100)}%",
            ("static", "recipe", "dynamic"),
            extra_cols=live_columns(fraction),
            description=f"pre-flight features + the run's own eval-metric curve up to {round(fraction * 100)} %",
            predictor_kwargs=predictor_kwargs,
        )
        self.fraction = fraction

    def predict(self, test: pd.DataFrame, task: Task) -> MethodOutput:
        out = super().predict(test, task)
        # The run has been paid up to `fraction` when this verdict is given (the probe is its first steps).
        return MethodOutput(out.metric, out.lo, out.hi, out.p_success, prefix_cost(test, self.fraction), True)


@dataclass(frozen=True)
class GateReplay:
    """One policy replayed over every run (arrays per run, in the table's order)."""

    name: str
    stopped_pre_flight: np.ndarray  # bool: NO-GO before the run started
    stopped_at: np.ndarray  # share of the run when a live stop came (NaN: ran to the end or stopped pre-flight)


def summarise_replay(replay: GateReplay, success: np.ndarray, cost_full: np.ndarray, cost_probe: np.ndarray) -> dict[str, float]:
    """Failures that passed the pre-flight check and were caught live, at what share; successes stopped
    (before and during the run); compute saved, with the oracle's savings for scale."""
    passed = ~replay.stopped_pre_flight
    live_stop = passed & np.isfinite(replay.stopped_at)
    fail = ~success
    spent = np.where(replay.stopped_pre_flight, 0.0, np.where(live_stop, replay.stopped_at, 1.0)) * cost_full
    total = float(np.nansum(cost_full))
    probe = float(np.nansum(cost_probe)) if np.isfinite(cost_probe).any() else 0.0
    caught_shares = replay.stopped_at[live_stop & fail]
    savings = 1.0 - (float(np.nansum(spent)) + probe) / total if total else math.nan
    oracle = float(np.nansum(cost_full[fail])) / total if total else math.nan
    return {
        "runs": int(len(success)),
        "failures": int(fail.sum()),
        "successes": int(success.sum()),
        "failures_stopped_pre_flight": int((replay.stopped_pre_flight & fail).sum()),
        "successes_stopped_pre_flight": int((replay.stopped_pre_flight & success).sum()),
        "failures_passed": int((passed & fail).sum()),
        "failures_caught_live": int((live_stop & fail).sum()),
        "caught_live_share": float((live_stop & fail).sum() / max((passed & fail).sum(), 1)),
        "median_share_at_catch": float(np.median(caught_shares)) if len(caught_shares) else math.nan,
        "successes_stopped_live": int((live_stop & success).sum()),
        "successes_stopped_share": float(((live_stop | replay.stopped_pre_flight) & success).sum() / max(success.sum(), 1)),
        "savings": savings,
        "oracle_savings": oracle,
        "savings_of_oracle": savings / oracle if oracle else math.nan,
    }


def stop_points(outputs: Sequence[tuple[float, MethodOutput]], cut: str = "own", fixed_no_go: float = 0.3,
                patience: int = 1) -> np.ndarray:
    """Share of the run at the fraction where the `patience`-th NO-GO in a row came (NaN: never). `cut="own"`
    uses each method's per-run NO-GO cut-off set on its training runs; otherwise `fixed_no_go`."""
    n = len(outputs[0][1].p_success)
    stopped = np.full(n, np.nan)
    streak = np.zeros(n, dtype=int)
    for fraction, out in outputs:
        no_go = out.no_go_at if cut == "own" and out.no_go_at is not None else np.full(n, fixed_no_go)
        says_no = np.isfinite(out.p_success) & (out.p_success <= no_go)
        streak = np.where(says_no, streak + 1, 0)
        stopped[np.isnan(stopped) & (streak >= patience)] = fraction
    return stopped


def replay(table: pd.DataFrame, task: Task, *, seed: int = 0, n_folds: int = 5, cost_ratio: float = 1.0,
           predictor_kwargs: dict[str, Any] | None = None,
           progress: Any = None) -> tuple[dict[str, dict[str, float]], dict[str, Any]]:
    """Cross-fit by `task.group_col` and replay the gate policies; returns (summary per policy, raw outputs)."""
    from tuneahead.baselines.early_stop import EarlyStopExtrapolation
    from tuneahead.evaluate.harness import cross_predict
    from tuneahead.predict.splits import group_folds

    say = progress or (lambda _msg: None)
    table = add_live_columns(table).reset_index(drop=True)
    # The live columns are no pre-flight feature: only the live methods read them (as extra columns).
    task = replace(task, exclude_cols=(*task.exclude_cols, *live_columns(max(LIVE_FRACTIONS)))).resolve(table)
    groups = table[task.group_col].to_numpy() if task.group_col else None
    folds = group_folds(len(table), groups, n_folds, seed)
    success = task.success(table)
    cost_full, cost_probe = cost_column(table, COST_FULL), cost_column(table, COST_PROBE)

    say("pre-flight predictor")
    pre = cross_predict(PredictorMethod("tuneahead", ("static", "recipe", "dynamic"), predictor_kwargs=predictor_kwargs),
                        table, task, folds, seed, cost_ratio)
    assert pre.no_go_at is not None
    pre_no_go = np.isfinite(pre.p_success) & (pre.p_success <= pre.no_go_at)
    live, early = [], []
    for f in LIVE_FRACTIONS:
        say(f"live predictor at {f:.0%}")
        live.append((f, cross_predict(LiveGateMethod(f, predictor_kwargs), table, task, folds, seed, cost_ratio)))
        say(f"early-stop extrapolation at {f:.0%}")
        early.append((f, cross_predict(EarlyStopExtrapolation(f), table, task, folds, seed, cost_ratio)))
    none = np.zeros(len(table), dtype=bool)
    never = np.full(len(table), np.nan)
    policies = [
        GateReplay("pre-flight only", pre_no_go, never),
        GateReplay("pre-flight + live gate (10/20/30 %)", pre_no_go, stop_points(live)),
        GateReplay("pre-flight + live gate, patience 2", pre_no_go, stop_points(live, patience=2)),
        GateReplay("live gate alone (10/20/30 %)", none, stop_points(live)),
    ]
    for f, out in early:
        policies.append(GateReplay(f"pre-flight + early stop at {f:.0%} alone", pre_no_go, stop_points([(f, out)], cut="fixed")))
    summary = {p.name: summarise_replay(p, success, cost_full, cost_probe) for p in policies}
    return summary, {"pre": pre, "live": live, "early": early, "success": success}
