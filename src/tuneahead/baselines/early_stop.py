"""Early-stop baselines: watch the first k % of the live run, then decide.

`EarlyStopExtrapolation` fits parametric learning-curve families to the first k % of the run's eval
metric curve (else its eval loss, else its train loss: the first of them that has at least three
logged points in the first k % of most training runs), projects the curve to the end of the run, and
maps the projection to the final metric with a monotone (isotonic) fit learned on the training runs:
the eval set is not the hidden test set, and a loss is not a score. `LinearEarlyStop` is the simple
baseline of the preprint's code: linear regression of the final metric on the initial loss and the
loss-drop rate over the first k %. Both pay k % of the run to decide; a run they let through simply
continues, so its prefix is not paid twice.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from tuneahead.baselines.base import ResidualHead, cross_fitted_residuals, prefix_cost
from tuneahead.baselines.curves import extrapolate, prefix
from tuneahead.evaluate.metrics import MethodOutput
from tuneahead.store.table import (
    CURVE_EVAL_LOSS,
    CURVE_EVAL_METRIC,
    CURVE_STEPS,
    CURVE_TRAIN_LOSS,
    Task,
)

if TYPE_CHECKING:
    import pandas as pd

_CURVE_PREFERENCE = (CURVE_EVAL_METRIC, CURVE_EVAL_LOSS, CURVE_TRAIN_LOSS)


MIN_POINTS = 3  # a curve family needs at least this many points in the prefix to be fitted
MIN_COVERAGE = 0.8  # ... in this share of runs, or the next curve in `_CURVE_PREFERENCE` is used


def _curve_column(table: pd.DataFrame, fraction: float | None = None) -> str | None:
    """The preferred curve; with `fraction`, the first one that is dense enough within the first `fraction`."""
    if CURVE_STEPS not in table.columns:
        return None
    present = [c for c in _CURVE_PREFERENCE if c in table.columns and table[c].notna().any()]
    if fraction is None or not present:
        return present[0] if present else None
    for c in present:
        counts = [int(np.sum(_finite_prefix(s, v, fraction)[0] > 0))  # step 0 is not a point of the fit
                  for s, v in zip(table[CURVE_STEPS], table[c], strict=True)]
        if np.mean([n >= MIN_POINTS for n in counts]) >= MIN_COVERAGE:
            return c
    return present[0]


def _finite_prefix(steps: object, values: object, fraction: float) -> tuple[np.ndarray, np.ndarray]:
    x, y = prefix(_as_array(steps), _as_array(values), fraction)
    ok = np.isfinite(y)
    return x[ok], y[ok]


MAX_FIT_POINTS = 64


def _thin(x: np.ndarray, y: np.ndarray, n: int = MAX_FIT_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """A per-step curve averaged into `n` consecutive bins: the same shape, less noise, faster fits."""
    if len(x) <= n:
        return x, y
    bins = np.array_split(np.arange(len(x)), n)
    return np.array([x[b].mean() for b in bins]), np.array([y[b].mean() for b in bins])


def _as_array(v: object) -> np.ndarray:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return np.empty(0)
    return np.asarray(v, dtype=float).ravel()


class _IsotonicMap:
    """Monotone map from a curve-derived number to the final metric, with honest residuals."""

    def __init__(self, increasing: bool) -> None:
        self.increasing = increasing
        self.iso = None
        self.head: ResidualHead | None = None

    def _fit_predict(self, x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray) -> np.ndarray:
        from sklearn.isotonic import IsotonicRegression

        iso = IsotonicRegression(increasing=self.increasing, out_of_bounds="clip").fit(x_train[:, 0], y_train)
        return iso.predict(x_test[:, 0])

    def fit(self, x: np.ndarray, y: np.ndarray, thresholds: np.ndarray, seed: int) -> None:
        from sklearn.isotonic import IsotonicRegression

        ok = np.isfinite(x) & np.isfinite(y)
        if ok.sum() < 5:
            self.iso, self.head = None, None
            return
        self.iso = IsotonicRegression(increasing=self.increasing, out_of_bounds="clip").fit(x[ok], y[ok])
        resid = cross_fitted_residuals(self._fit_predict, x[ok].reshape(-1, 1), y[ok], seed)
        self.head = ResidualHead(resid, forecasts=y[ok] - resid, thresholds=thresholds[ok], seed=seed)

    def predict(self, x: np.ndarray) -> np.ndarray:
        out = np.full(len(x), np.nan)
        ok = np.isfinite(x)
        if self.iso is not None and ok.any():
            out[ok] = self.iso.predict(x[ok])
        return out


class EarlyStopExtrapolation:
    """Learning-curve extrapolation from the first `fraction` of the live run."""

    def __init__(self, fraction: float = 0.2) -> None:
        if not 0.0 < fraction < 1.0:
            raise ValueError("fraction must lie strictly between 0 and 1")
        self.fraction = fraction
        self.name = f"early-stop-{round(fraction * 100)}%"
        self.description = (
            f"learning-curve families (power law, exponential, log-power, Janoschek, Weibull, MMF, log) "
            f"fitted to the first {round(fraction * 100)} % of the live run, ensemble weighted by held-out error"
        )
        self.curve: str | None = None
        self._map: _IsotonicMap | None = None
        self._cache: dict[tuple[str, bytes, bytes], float] = {}

    def unavailable(self, table: pd.DataFrame, task: Task) -> str | None:
        if _curve_column(table) is None:
            return f"no learning curves (needs {CURVE_STEPS} and one of {', '.join(_CURVE_PREFERENCE)})"
        return None

    def projections(self, table: pd.DataFrame) -> np.ndarray:
        """The projected end-of-run value of each run's curve.

        A projection depends on the run's curve alone, and each run is projected once per seed and fold;
        so projections are cached under a fingerprint of the curve itself.
        """
        assert self.curve is not None
        out = np.full(len(table), np.nan)
        for i, (s, v) in enumerate(zip(table[CURVE_STEPS].tolist(), table[self.curve].tolist(), strict=True)):
            steps, values = _as_array(s), _as_array(v)
            key = (self.curve, steps.tobytes(), values.tobytes())
            if key not in self._cache:
                x, y = _thin(*_finite_prefix(steps, values, self.fraction))
                self._cache[key] = extrapolate(x, y).value if len(x) >= MIN_POINTS else float("nan")
            out[i] = self._cache[key]
        return out

    def fit(self, train: pd.DataFrame, task: Task, seed: int) -> None:
        self.curve = _curve_column(train, self.fraction)
        self._map = _IsotonicMap(increasing=self.curve == CURVE_EVAL_METRIC)
        y = train[task.target].to_numpy(dtype=float)
        self._map.fit(self.projections(train), y, task.thresholds(train), seed)

    def predict(self, test: pd.DataFrame, task: Task) -> MethodOutput:
        assert self._map is not None
        pred = self._map.predict(self.projections(test))
        cost = prefix_cost(test, self.fraction)
        if self._map.head is None:
            return MethodOutput.point_only(pred, cost, cost_is_prefix=True)
        return self._map.head.output(pred, task.thresholds(test), cost, prefix=True)


class LinearEarlyStop:
    """The preprint code's baseline: final metric ~ initial loss + loss-drop rate over the first k %."""

    def __init__(self, fraction: float = 0.1) -> None:
        self.fraction = fraction
        self.name = f"linear-early-stop-{round(fraction * 100)}%"
        self.description = f"linear regression on initial loss and loss-drop rate over the first {round(fraction * 100)} %"
        self.curve: str | None = None
        self.coef: np.ndarray | None = None
        self.head: ResidualHead | None = None

    def unavailable(self, table: pd.DataFrame, task: Task) -> str | None:
        if CURVE_STEPS not in table.columns or not any(c in table.columns for c in (CURVE_TRAIN_LOSS, CURVE_EVAL_LOSS)):
            return f"no loss curves (needs {CURVE_STEPS} and {CURVE_TRAIN_LOSS} or {CURVE_EVAL_LOSS})"
        return None

    def _features(self, table: pd.DataFrame) -> np.ndarray:
        assert self.curve is not None
        X = np.full((len(table), 2), np.nan)
        for i, (s, v) in enumerate(zip(table[CURVE_STEPS].tolist(), table[self.curve].tolist(), strict=True)):
            x, y = prefix(_as_array(s), _as_array(v), self.fraction)
            ok = np.isfinite(y)
            if ok.sum() < 2:
                continue
            x, y = x[ok], y[ok]
            X[i] = (y[0], (y[0] - y[-1]) / max(x[-1] - x[0], 1e-9))  # loss drop per percent of the run
        return X

    @staticmethod
    def _lstsq(X: np.ndarray, y: np.ndarray, X_new: np.ndarray) -> np.ndarray:
        A = np.column_stack([np.ones(len(X)), X])
        coef, *_ = np.linalg.lstsq(A, y, rcond=None)
        return np.column_stack([np.ones(len(X_new)), X_new]) @ coef

    def fit(self, train: pd.DataFrame, task: Task, seed: int) -> None:
        self.curve = CURVE_TRAIN_LOSS if CURVE_TRAIN_LOSS in train.columns else CURVE_EVAL_LOSS
        X = self._features(train)
        y = train[task.target].to_numpy(dtype=float)
        ok = np.all(np.isfinite(X), axis=1) & np.isfinite(y)
        self.coef, self.head = None, None
        if ok.sum() < 5:
            return
        A = np.column_stack([np.ones(ok.sum()), X[ok]])
        self.coef, *_ = np.linalg.lstsq(A, y[ok], rcond=None)
        resid = cross_fitted_residuals(self._lstsq, X[ok], y[ok], seed)
        self.head = ResidualHead(resid, forecasts=y[ok] - resid, thresholds=task.thresholds(train)[ok], seed=seed)

    def predict(self, test: pd.DataFrame, task: Task) -> MethodOutput:
        X = self._features(test)
        pred = np.full(len(test), np.nan)
        ok = np.all(np.isfinite(X), axis=1)
        if self.coef is not None and ok.any():
            pred[ok] = np.column_stack([np.ones(ok.sum()), X[ok]]) @ self.coef
        cost = prefix_cost(test, self.fraction)
        if self.head is None:
            return MethodOutput.point_only(pred, cost, cost_is_prefix=True)
        return self.head.output(pred, task.thresholds(test), cost, prefix=True)

