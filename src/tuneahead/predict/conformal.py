"""Split-conformal prediction intervals and success probabilities from out-of-fold residuals.

Residuals r = y − ŷ come from models that did not train on the run (cross-fitting), so their spread
is what a new run will see. An interval at coverage 1−α takes the lower α/2 and upper α/2 conformal
quantiles of the signed residuals (asymmetric when errors are); P(y ≥ t) is the share of residuals at
least t − ŷ, with a +1/+2 correction so it never claims certainty from a finite sample.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from tuneahead.errors import InputError, Location


@dataclass(frozen=True)
class ResidualModel:
    residuals: np.ndarray  # sorted signed out-of-fold residuals y − ŷ

    @classmethod
    def from_residuals(cls, residuals: np.ndarray) -> ResidualModel:
        r = np.asarray(residuals, dtype=float)
        r = np.sort(r[np.isfinite(r)])
        if len(r) == 0:
            raise ValueError("no finite residuals to build intervals from")
        return cls(r)

    @property
    def n(self) -> int:
        return len(self.residuals)

    def quantiles(self, coverage: float) -> tuple[float, float]:
        """(q_lo, q_hi) so that [ŷ + q_lo, ŷ + q_hi] covers `coverage` of new runs (finite-sample corrected)."""
        if not 0.0 < coverage < 1.0:
            raise InputError(f"coverage must lie strictly between 0 and 1, got {coverage}", Location(field="coverage"))
        alpha = 1.0 - coverage
        n = self.n
        k_hi = math.ceil((n + 1) * (1 - alpha / 2))  # 1-based rank
        k_lo = math.floor((n + 1) * (alpha / 2))
        q_hi = self.residuals[k_hi - 1] if k_hi <= n else math.inf
        q_lo = self.residuals[k_lo - 1] if k_lo >= 1 else -math.inf
        return float(q_lo), float(q_hi)

    def interval(self, pred: np.ndarray, coverage: float) -> tuple[np.ndarray, np.ndarray]:
        q_lo, q_hi = self.quantiles(coverage)
        pred = np.asarray(pred, dtype=float)
        return pred + q_lo, pred + q_hi

    def p_at_least(self, pred: np.ndarray, threshold: np.ndarray) -> np.ndarray:
        """P(y ≥ threshold) for runs predicted at `pred`."""
        d = np.asarray(threshold, float) - np.asarray(pred, float)
        count = self.n - np.searchsorted(self.residuals, d, side="left")
        return (count + 1.0) / (self.n + 2.0)

    def to_dict(self) -> dict[str, Any]:
        return {"residuals": [float(v) for v in self.residuals]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ResidualModel:
        return cls.from_residuals(np.asarray(d["residuals"], dtype=float))


def cross_fitted_p(pred: np.ndarray, y: np.ndarray, threshold: np.ndarray, folds: np.ndarray) -> np.ndarray:
    """P(success) for out-of-fold runs, each from the residuals of the *other* folds (no self-leakage)."""
    resid = y - pred
    out = np.full(len(pred), np.nan)
    for f in np.unique(folds):
        test = folds == f
        if (~test).sum() == 0:
            continue
        out[test] = ResidualModel.from_residuals(resid[~test]).p_at_least(pred[test], threshold[test])
    return out
