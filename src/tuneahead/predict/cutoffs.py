"""GO / NO-GO cut-offs for a user's stakes, set on the predictor's training runs only.

The stakes are one number, the cost ratio r: what stopping a run that would have reached its target costs,
in units of what a failed full run costs (r = 2: a lost success hurts twice as much as a wasted run).
Going is the cheaper bet when P(success) > p* = 1 / (1 + r), the break-even.

A verdict should be more than a coin toss around p*: GO asks that runs like this one succeed with odds at
least `MARGIN` times the break-even odds, NO-GO that they fail with odds `MARGIN` times the break-even
odds of failure (at r = 1 that is 70 % either way, the gate's former fixed cut-offs). Whether a cut-off
keeps that promise is read off the out-of-fold P(success) of the training runs at their own targets
(base rate included): GO at P >= go_at, where every cut from the top down to go_at kept the GO share that
succeeded at the required precision (at least `MIN_SUPPORT` runs). NO-GO alike from the bottom. Neither
cut crosses the break-even, so each verdict is also the cheaper bet for the run itself. Where no cut keeps
the promise on the training runs, that verdict is not given (its cut-off lies outside [0, 1]).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # numpy loads when cut-offs are computed: the CLI reads this module's defaults at start-up
    import numpy as np

DEFAULT_COST_RATIO = 1.0  # a lost success costs as much as a failed full run
MARGIN = 7.0 / 3.0  # odds a verdict must beat the break-even by (0.7 / 0.3 at r = 1)
MIN_SUPPORT = 10  # training runs a precision is read from before it counts


@dataclass(frozen=True)
class CutOffs:
    """GO at P >= go_at, NO-GO at P <= no_go_at; `basis` says how they were set."""

    go_at: float
    no_go_at: float
    cost_ratio: float
    break_even: float
    go_precision_required: float
    no_go_precision_required: float
    basis: str
    go_precision_seen: float = math.nan  # on the training runs, out of fold
    no_go_precision_seen: float = math.nan
    go_share_seen: float = math.nan
    no_go_share_seen: float = math.nan
    training_runs: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in self.__dict__.items()}


def check_cost_ratio(cost_ratio: float) -> float:
    if not (isinstance(cost_ratio, int | float) and math.isfinite(cost_ratio) and cost_ratio > 0):
        raise ValueError(f"the cost ratio is a positive number, got {cost_ratio!r}")
    return float(cost_ratio)


def required_precisions(cost_ratio: float) -> tuple[float, float, float]:
    """(break-even P, share of GO runs that must succeed, share of NO-GO runs that must fail)."""
    r = check_cost_ratio(cost_ratio)
    return 1.0 / (1.0 + r), MARGIN / (MARGIN + r), MARGIN * r / (1.0 + MARGIN * r)


def fixed_cut_offs(cost_ratio: float = DEFAULT_COST_RATIO) -> CutOffs:
    """Cut-offs from the stakes alone, for a predictor that kept no out-of-fold record: P itself must reach
    the required precisions (right when P is calibrated)."""
    p_star, q_go, q_no = required_precisions(cost_ratio)
    return CutOffs(q_go, 1.0 - q_no, cost_ratio, p_star, q_go, q_no,
                   basis="from the cost ratio alone (the predictor kept no out-of-fold record of its training runs)")


def cut_offs_for_stakes(cost_ratio: float, p: np.ndarray, success: np.ndarray) -> CutOffs:
    """Cut-offs at `cost_ratio` from training runs' out-of-fold P(success) `p` and outcomes `success`."""
    import numpy as np

    p_star, q_go, q_no = required_precisions(cost_ratio)
    p = np.asarray(p, dtype=float)
    s = np.asarray(success, dtype=bool)
    keep = np.isfinite(p)
    p, s = p[keep], s[keep]
    n = len(p)
    if n < MIN_SUPPORT:
        return fixed_cut_offs(cost_ratio)
    go_at, go_prec, go_n = _cut_from_top(p, s, q_go, p_star)
    # NO-GO is GO's mirror: failures read from the bottom, P turned around.
    flipped, no_prec, no_n = _cut_from_top(1.0 - p, ~s, q_no, 1.0 - p_star)
    no_go_at = 1.0 - flipped
    return CutOffs(
        go_at, no_go_at, cost_ratio, p_star, q_go, q_no,
        basis=f"set on {n} training runs' out-of-fold P(success) at their own targets",
        go_precision_seen=go_prec, no_go_precision_seen=no_prec,
        go_share_seen=go_n / n, no_go_share_seen=no_n / n, training_runs=n,
    )


def _cut_from_top(p: np.ndarray, hit: np.ndarray, required: float, floor: float) -> tuple[float, float, int]:
    """The lowest cut c >= floor such that for every cut from the top down to c, the runs at or above it
    (once there are MIN_SUPPORT of them) were hits at least `required` of the time.

    Returns (cut, hit share at it, runs at or above it); (inf, NaN, 0) when no cut qualifies.
    """
    import numpy as np

    order = np.argsort(-p, kind="stable")
    ps, hits = p[order], hit[order].astype(float)
    shares = np.cumsum(hits) / np.arange(1, len(ps) + 1)
    best: tuple[float, float, int] = (math.inf, math.nan, 0)
    for i in range(len(ps)):
        if i + 1 < len(ps) and ps[i + 1] == ps[i]:
            continue  # a cut takes every run at its P
        if ps[i] < floor:
            break
        if i + 1 >= MIN_SUPPORT and shares[i] < required:
            break
        if i + 1 >= MIN_SUPPORT:
            best = (float(ps[i]), float(shares[i]), i + 1)
    return best
