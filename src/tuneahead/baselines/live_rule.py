"""The live gate's stop rule, and its replay over stored runs.

While a run trains, each evaluation of the target metric extends its learning curve; the curve so far
is projected to the end of the run with the early-stop baseline's curve families (`curves.extrapolate`;
judged from three points on), and the run is stopped once the projection has stayed under the target for `patience` evaluations in a
row. `TuneAheadCallback` applies it live; `replay` drives stored runs' curves through the same rule as if
it were watching, so its catches, false stops and savings can be measured on a corpus.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from tuneahead.baselines.curves import extrapolate

DEFAULT_PATIENCE = 2
MIN_POINTS = 3  # as the early-stop baseline: fewer points are the current value, not a projection


def project_final(steps: Sequence[float], values: Sequence[float], total_steps: float) -> float:
    """The metric curve logged so far, projected to the end of the run (clipped to [0, 1]); NaN without points."""
    x = np.asarray([100.0 * s / total_steps for s in steps], float)
    y = np.asarray(values, float)
    value = extrapolate(x, y).value if len(x) else math.nan
    return min(1.0, max(0.0, value)) if math.isfinite(value) else math.nan


@dataclass
class LiveStopRule:
    """Stop when the projected final metric stays under `target` for `patience` evaluations in a row."""

    target: float
    total_steps: float
    patience: int = DEFAULT_PATIENCE
    steps: list[float] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    below: int = 0

    def remember(self, step: float, value: float) -> None:
        """An evaluation from before the rule watches (the probe window): part of the curve, not judged."""
        if math.isfinite(value):
            self.steps.append(step)
            self.values.append(value)

    def observe(self, step: float, value: float) -> float:
        """Add one evaluation and judge it; returns the new projection."""
        self.remember(step, value)
        projected = project_final(self.steps, self.values, self.total_steps)
        judged = len(self.steps) >= MIN_POINTS and math.isfinite(projected)
        self.below = self.below + 1 if judged and projected < self.target else 0
        return projected

    @property
    def should_stop(self) -> bool:
        return self.patience > 0 and self.below >= self.patience


@dataclass(frozen=True)
class ReplayedRun:
    success: bool
    stopped_at: float | None  # share of the run's steps when the rule stopped it (None: ran to the end)


def replay_run(steps: Sequence[float], values: Sequence[float], *, target: float, success: bool,
               watch_from: float, patience: int = DEFAULT_PATIENCE, until: float = 1.0) -> ReplayedRun:
    """Drive one stored run's eval-metric curve through the rule, watching evaluations after the share
    `watch_from` of the run (the probe window) and up to `until`; the curve before is history it sees."""
    total = float(np.nanmax(steps)) if len(steps) else 0.0
    if not total > 0:
        return ReplayedRun(success, None)
    rule = LiveStopRule(target, total, patience)
    for s, v in zip(steps, values, strict=True):
        share = s / total
        if not math.isfinite(v) or share >= 1.0:  # the last evaluation is the run's end: nothing left to stop
            continue
        if share <= watch_from or share > until + 1e-9:
            rule.remember(s, v)
            continue
        rule.observe(s, v)
        if rule.should_stop:
            return ReplayedRun(success, share)
    return ReplayedRun(success, None)


@dataclass(frozen=True)
class ReplaySummary:
    runs: int
    failures: int
    successes: int
    failures_caught: int
    successes_stopped: int
    median_share_at_catch: float
    savings: float  # 1 - compute spent / compute of every run to its end
    oracle_savings: float  # what stopping every failure at step 0 would save

    def to_dict(self) -> dict[str, float]:
        return dict(self.__dict__)


def summarise(replayed: Sequence[ReplayedRun], costs: Sequence[float]) -> ReplaySummary:
    costs_arr = np.asarray(costs, float)
    total = float(costs_arr.sum())
    spent = sum(c * (r.stopped_at if r.stopped_at is not None else 1.0) for r, c in zip(replayed, costs_arr, strict=True))
    failed_cost = sum(c for r, c in zip(replayed, costs_arr, strict=True) if not r.success)
    caught = [r.stopped_at for r in replayed if not r.success and r.stopped_at is not None]
    return ReplaySummary(
        runs=len(replayed),
        failures=sum(not r.success for r in replayed),
        successes=sum(r.success for r in replayed),
        failures_caught=len(caught),
        successes_stopped=sum(r.success and r.stopped_at is not None for r in replayed),
        median_share_at_catch=float(np.median(caught)) if caught else math.nan,
        savings=1.0 - spent / total if total else math.nan,
        oracle_savings=failed_cost / total if total else math.nan,
    )
