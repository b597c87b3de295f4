"""Success at any bar: each training run asked "did you reach b?" for a grid of bars b, not only its own.

A success model trained on each run's own target only learns the bar's effect from differences *between*
runs, and in a corpus bars are not set at random: TuneBench, like a team, sets high bars on tasks it
expects to be easy, so a higher bar goes with *more* success there, and a sign bound on the bar ends at
zero (issue 16: P 0.7308 at targets 0.3, 0.6 and 0.95 alike). Stacking the same run at several bars
teaches the effect *within* each run, where nothing else changes: P(success | run, bar) becomes a
predictive distribution of the final metric, P(y >= b), falling with b by construction.

Rows of one run stay in one fold (the folds are per run), and tree leaves are sized in runs, not rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Bars every run is also asked about, as fractions of the metric's range (its bounds, or the training
#: runs' observed range when it has none). Ten points: P(y >= b) is smooth enough between them.
BAR_GRID: tuple[float, ...] = (0.05, 0.15, 0.25, 0.35, 0.45, 0.55, 0.65, 0.75, 0.85, 0.95)


@dataclass(frozen=True)
class StackedBars:
    """Each run repeated at its own bar and at every grid bar; `run` indexes the original rows."""

    X: np.ndarray  # features, one row per (run, bar)
    bar: np.ndarray
    success: np.ndarray  # y >= bar, as 0.0 / 1.0
    run: np.ndarray  # the original row of each stacked row
    own: np.ndarray  # True on the row that asks about the run's own bar

    @property
    def rows_per_run(self) -> int:
        return 1 + len(BAR_GRID)


def grid_bars(y: np.ndarray, bounds: tuple[float, float] | None) -> np.ndarray:
    """The grid of bars in the metric's units."""
    lo, hi = bounds if bounds is not None else (float(np.nanmin(y)), float(np.nanmax(y)))
    return lo + (hi - lo) * np.asarray(BAR_GRID)


def stack(X: np.ndarray, y: np.ndarray, own_bar: np.ndarray, bounds: tuple[float, float] | None) -> StackedBars:
    """Runs (rows of X with final metric y and their own bar) asked at their own bar and the grid's."""
    n = len(y)
    grid = grid_bars(y, bounds)
    bars = np.column_stack([own_bar, np.broadcast_to(grid, (n, len(grid)))])  # (n, 1 + grid)
    run = np.repeat(np.arange(n), bars.shape[1])
    own = np.tile(np.r_[True, np.zeros(len(grid), dtype=bool)], n)
    flat = bars.reshape(-1)
    return StackedBars(X=X[run], bar=flat, success=(y[run] >= flat).astype(float), run=run, own=own)
