"""Probability calibration (isotonic or Platt) stored as plain numbers, plus cross-fitted checks.

A calibrator is fitted on out-of-fold probabilities only; `cross_fit` calibrates each fold with a
calibrator fitted on the other folds, which is how we measure calibration on runs it never saw.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

CalibrationKind = Literal["identity", "isotonic", "platt"]

# Probabilities are kept off exactly 0 and 1: a small corpus never justifies certainty.
P_MIN, P_MAX = 0.005, 0.995


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


@dataclass(frozen=True)
class Calibrator:
    kind: CalibrationKind = "identity"
    x: tuple[float, ...] = field(default=())  # isotonic knots
    y: tuple[float, ...] = field(default=())
    a: float = 1.0  # Platt: sigmoid(a * logit(p) + b)
    b: float = 0.0

    def __call__(self, p: np.ndarray) -> np.ndarray:
        p = np.asarray(p, dtype=float)
        if self.kind == "isotonic":
            out = np.interp(p, self.x, self.y)  # flat beyond the ends, as sklearn's clip mode
        elif self.kind == "platt":
            out = 1.0 / (1.0 + np.exp(-(self.a * _logit(p) + self.b)))
        else:
            out = p
        return np.clip(out, P_MIN, P_MAX)

    def to_dict(self) -> dict[str, Any]:
        if self.kind == "isotonic":
            return {"kind": "isotonic", "x": list(self.x), "y": list(self.y)}
        if self.kind == "platt":
            return {"kind": "platt", "a": self.a, "b": self.b}
        return {"kind": "identity"}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Calibrator:
        kind = d.get("kind", "identity")
        if kind == "isotonic":
            x, y = tuple(map(float, d["x"])), tuple(map(float, d["y"]))
            if not x or len(x) != len(y) or list(x) != sorted(x):
                raise ValueError("isotonic calibrator: x and y must be equally long, non-empty, x ascending")
            return cls("isotonic", x, y)
        if kind == "platt":
            return cls("platt", a=float(d["a"]), b=float(d["b"]))
        if kind != "identity":
            raise ValueError(f"unknown calibrator kind {kind!r}")
        return cls()


def fit_calibrator(p: np.ndarray, y: np.ndarray, kind: CalibrationKind) -> Calibrator:
    """Fit `kind` on probabilities `p` and boolean outcomes `y`."""
    p = np.asarray(p, dtype=float)
    y = np.asarray(y, dtype=float)
    if kind == "identity" or len(np.unique(y)) < 2:
        return Calibrator()
    if kind == "isotonic":
        from sklearn.isotonic import IsotonicRegression

        iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(p, y)
        return Calibrator("isotonic", tuple(map(float, iso.X_thresholds_)), tuple(map(float, iso.y_thresholds_)))
    if kind == "platt":
        from sklearn.linear_model import LogisticRegression

        # Nearly unregularised: Platt scaling is a 2-parameter maximum-likelihood fit.
        lr = LogisticRegression(C=1e4).fit(_logit(p).reshape(-1, 1), y.astype(int))
        return Calibrator("platt", a=float(lr.coef_[0, 0]), b=float(lr.intercept_[0]))
    raise ValueError(f"unknown calibration kind {kind!r}")


# A few runs of a team's own should move a predictor fitted on many others only as far as they can show:
# the Platt fit is pulled towards the identity as if this many runs had agreed with the probabilities.
PRIOR_RUNS = 10.0


def fit_recalibration(p: np.ndarray, y: np.ndarray, prior_runs: float = PRIOR_RUNS) -> Calibrator:
    """Platt scaling of another predictor's probabilities on a few new runs, shrunk towards the identity:
    minimises the runs' log loss plus `prior_runs` x ((a - 1)^2 + b^2) / 2 (a Gaussian prior on a, b)."""
    from scipy.optimize import minimize

    p = np.asarray(p, dtype=float)
    y = np.asarray(y, dtype=float)
    keep = np.isfinite(p) & np.isfinite(y)
    z, y = _logit(p[keep]), y[keep]
    if len(z) == 0:
        return Calibrator()

    def loss(theta: np.ndarray) -> float:
        a, b = theta
        s = a * z + b
        # log(1 + e^s) - y s, summed: the Bernoulli log loss in a numerically stable form.
        nll = float(np.sum(np.logaddexp(0.0, s) - y * s))
        return nll + 0.5 * prior_runs * ((a - 1.0) ** 2 + b**2)

    a, b = minimize(loss, np.array([1.0, 0.0]), method="L-BFGS-B").x
    return Calibrator("platt", a=float(a), b=float(b))


def compose(outer: Calibrator, inner: Calibrator) -> Calibrator:
    """`outer` applied after `inner`, as one calibrator: exact for Platt after Platt or identity; after an
    isotonic map, the map's knots are carried through `outer` (exact at the knots, linear between them)."""
    if outer.kind == "identity":
        return inner
    if inner.kind == "identity":
        return outer
    if outer.kind == "platt" and inner.kind == "platt":
        return Calibrator("platt", a=outer.a * inner.a, b=outer.a * inner.b + outer.b)
    if inner.kind == "isotonic":
        return Calibrator("isotonic", inner.x, tuple(map(float, outer(np.asarray(inner.y)))))
    raise ValueError(f"cannot compose {outer.kind} after {inner.kind}")


def cross_fit(p: np.ndarray, y: np.ndarray, folds: np.ndarray, kind: CalibrationKind) -> np.ndarray:
    """Calibrated probabilities where each fold's calibrator never saw that fold."""
    out = np.empty(len(p), dtype=float)
    for f in np.unique(folds):
        test = folds == f
        out[test] = fit_calibrator(p[~test], y[~test], kind)(p[test])
    return out


def brier(p: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean((np.asarray(p, float) - np.asarray(y, float)) ** 2))


def expected_calibration_error(p: np.ndarray, y: np.ndarray, bins: int = 10) -> float:
    """Mean |observed success rate − mean probability| over equal-width bins, weighted by bin size."""
    p = np.asarray(p, float)
    y = np.asarray(y, float)
    idx = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            total += m.sum() * abs(y[m].mean() - p[m].mean())
    return float(total / max(len(p), 1))
