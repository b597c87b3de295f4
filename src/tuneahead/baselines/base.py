"""What every method in an evaluation implements, and shared helpers.

A method is fitted on training runs only and then predicts test runs; it also says what it costs to
decide on a run (its probe, its proxy run, the prefix of the live run) so the savings accounting is
identical for all.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from tuneahead.evaluate.metrics import Method, MethodOutput  # Method: the interface the harness runs
from tuneahead.predict.conformal import ResidualModel
from tuneahead.store.table import COST_FULL

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Method", "MethodOutput", "ResidualHead", "cost_column", "prefix_cost"]


def cost_column(table: pd.DataFrame, col: str) -> np.ndarray:
    """A cost column as floats; NaN when the table lacks it (savings then read as unknown)."""
    if col not in table.columns:
        return np.full(len(table), np.nan)
    return table[col].to_numpy(dtype=float)


def prefix_cost(table: pd.DataFrame, fraction: float) -> np.ndarray:
    return fraction * cost_column(table, COST_FULL)


class ResidualHead:
    """Intervals and P(success) for a plain regressor, from runs it did not train on.

    P(success) comes from whichever of two readings of the regressor's held-out forecasts has the lower
    cross-validated Brier score on the training runs:

    - "residual": P(y >= bar) from the spread of held-out residuals around the forecast (one spread
      for every run, so a forecast squeezed towards the middle turns low bars into high P);
    - "bar": a logistic regression of success on the forecast and the bar, which learns how far a
      forecast must clear a bar before the run really does.

    Giving a baseline the better of the two keeps the comparison about its forecast, not its head.
    """

    def __init__(
        self,
        residuals: np.ndarray,
        coverage: float = 0.9,
        *,
        forecasts: np.ndarray | None = None,
        thresholds: np.ndarray | None = None,
        seed: int = 0,
    ) -> None:
        finite = residuals[np.isfinite(residuals)]
        self.model = ResidualModel.from_residuals(finite) if len(finite) else None
        self.coverage = coverage
        self.bar_model = None
        self.p_source = "residual"
        if self.model is not None and forecasts is not None and thresholds is not None:
            self.bar_model = _bar_classifier_if_better(forecasts, forecasts + residuals, thresholds, seed)
            if self.bar_model is not None:
                self.p_source = "bar"

    def output(self, pred: np.ndarray, thresholds: np.ndarray, decide_cost: np.ndarray, *, prefix: bool) -> MethodOutput:
        if self.model is None:
            nan = np.full(len(pred), np.nan)
            return MethodOutput(pred, nan, nan.copy(), nan.copy(), decide_cost, prefix)
        lo, hi = self.model.interval(pred, self.coverage)
        ok = np.isfinite(pred) & np.isfinite(thresholds)
        p = np.full(len(pred), np.nan)
        if ok.any():
            if self.bar_model is not None:
                p[ok] = self.bar_model.predict_proba(np.column_stack([pred[ok], thresholds[ok]]))[:, 1]
            else:
                p[ok] = self.model.p_at_least(pred[ok], thresholds[ok])
        return MethodOutput(pred, lo, hi, p, decide_cost, prefix)


def _bar_classifier_if_better(forecasts: np.ndarray, y: np.ndarray, bars: np.ndarray, seed: int):
    """A logistic regression of (y >= bar) on (forecast, bar), if it beats the residual reading."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    from tuneahead.predict.calibration import brier
    from tuneahead.predict.conformal import cross_fitted_p
    from tuneahead.predict.predictor import MIN_PER_CLASS

    ok = np.isfinite(forecasts) & np.isfinite(y) & np.isfinite(bars)
    f, yy, bar = forecasts[ok], y[ok], bars[ok]
    X, success = np.column_stack([f, bar]), yy >= bar
    n_pos = int(success.sum())
    if min(n_pos, len(success) - n_pos) < MIN_PER_CLASS:
        return None
    folds = np.empty(len(success), dtype=int)
    p_bar = np.empty(len(success))
    splitter = StratifiedKFold(n_splits=min(5, n_pos, len(success) - n_pos), shuffle=True, random_state=seed)
    for k, (train, test) in enumerate(splitter.split(X, success)):
        folds[test] = k
        p_bar[test] = LogisticRegression(C=1.0).fit(X[train], success[train]).predict_proba(X[test])[:, 1]
    if brier(p_bar, success) >= brier(cross_fitted_p(f, yy, bar, folds), success):
        return None
    return LogisticRegression(C=1.0).fit(X, success)


def cross_fitted_residuals(
    fit_predict: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray],
    X: np.ndarray,
    y: np.ndarray,
    seed: int,
    n_folds: int = 5,
) -> np.ndarray:
    """y − ŷ where each ŷ comes from a model fitted without that run (random folds)."""
    from tuneahead.predict.splits import group_folds

    folds = group_folds(len(y), None, min(n_folds, len(y)), seed)
    resid = np.full(len(y), np.nan)
    for f in np.unique(folds):
        test = folds == f
        resid[test] = y[test] - fit_predict(X[~test], y[~test], X[test])
    return resid
