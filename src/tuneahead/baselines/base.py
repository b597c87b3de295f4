"""What every method in an evaluation implements, and shared helpers.

A method is fitted on training runs only and then predicts test runs; it also says what it costs to
decide on a run (its probe, its proxy run, the prefix of the live run) so the savings accounting is
identical for all.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

from tuneahead.evaluate.metrics import MethodOutput
from tuneahead.evaluate.runs import COST_FULL, Task
from tuneahead.predict.conformal import ResidualModel

if TYPE_CHECKING:
    import pandas as pd


@runtime_checkable
class Method(Protocol):
    name: str
    description: str

    def unavailable(self, table: pd.DataFrame, task: Task) -> str | None:
        """Why this method cannot run on `table` (missing columns, …), or None when it can."""

    def fit(self, train: pd.DataFrame, task: Task, seed: int) -> None: ...

    def predict(self, test: pd.DataFrame, task: Task) -> MethodOutput: ...


def cost_column(table: pd.DataFrame, col: str) -> np.ndarray:
    """A cost column as floats; NaN when the table lacks it (savings then read as unknown)."""
    if col not in table.columns:
        return np.full(len(table), np.nan)
    return table[col].to_numpy(dtype=float)


def prefix_cost(table: pd.DataFrame, fraction: float) -> np.ndarray:
    return fraction * cost_column(table, COST_FULL)


class ResidualHead:
    """Intervals and P(success) for a plain regressor, from residuals it did not train on."""

    def __init__(self, residuals: np.ndarray, coverage: float = 0.9) -> None:
        finite = residuals[np.isfinite(residuals)]
        self.model = ResidualModel.from_residuals(finite) if len(finite) else None
        self.coverage = coverage

    def output(self, pred: np.ndarray, thresholds: np.ndarray, decide_cost: np.ndarray, *, prefix: bool) -> MethodOutput:
        if self.model is None:
            nan = np.full(len(pred), np.nan)
            return MethodOutput(pred, nan, nan.copy(), nan.copy(), decide_cost, prefix)
        lo, hi = self.model.interval(pred, self.coverage)
        ok = np.isfinite(pred) & np.isfinite(thresholds)
        p = np.full(len(pred), np.nan)
        p[ok] = self.model.p_at_least(pred[ok], thresholds[ok])
        return MethodOutput(pred, lo, hi, p, decide_cost, prefix)


def cross_fitted_residuals(
    fit_predict: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray],
    X: np.ndarray,
    y: np.ndarray,
    seed: int,
    n_folds: int = 5,
) -> np.ndarray:
    """y − ŷ where each ŷ comes from a model fitted without that run (random folds)."""
    from tuneahead.evaluate.splits import group_folds

    folds = group_folds(len(y), None, min(n_folds, len(y)), seed)
    resid = np.full(len(y), np.nan)
    for f in np.unique(folds):
        test = folds == f
        resid[test] = y[test] - fit_predict(X[~test], y[~test], X[test])
    return resid
